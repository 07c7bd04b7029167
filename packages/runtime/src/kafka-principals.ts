// One Kafka principal per worker (ADR 0019): SCRAM users with random passwords, generated once for a local
// installation, and the ACLs that let each worker read what it consumes and write only what it produces.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as KafkaJs from 'kafkajs';
import type { AclEntry, AclOperationTypes, AclResourceTypes, Admin, ResourcePatternTypes } from 'kafkajs';
import type { KafkaSecurity } from './kafka.js';
import { Topics, type TopicKind } from './topics.js';

// kafkajs is CommonJS and Node's ESM import does not see its ACL enums as named exports.
const {
  AclOperationTypes: Operation,
  AclPermissionTypes,
  AclResourceTypes: Resource,
  ResourcePatternTypes: Pattern,
} = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

/** The workers that run as their own principal. */
export const WorkerPrincipals = ['planner', 'guard', 'executor', 'auditor', 'escalation'] as const;
export type WorkerPrincipal = (typeof WorkerPrincipals)[number];

/**
 * Every principal of a local installation: the workers, `client` (submits tasks, reads the audit topics: the CLI's
 * submit and tail, the producer examples) and `admin`, the super user (the stack, topic and ACL set-up, the tests).
 */
export const KafkaPrincipals = [...WorkerPrincipals, 'client', 'admin'] as const;
export type KafkaPrincipal = (typeof KafkaPrincipals)[number];

/** The SASL mechanism of the local stack's users. */
export const LOCAL_SASL_MECHANISM = 'scram-sha-512';

/** The users file: a password per principal, for SCRAM-SHA-512. */
export interface KafkaUsersFile {
  readonly mechanism: typeof LOCAL_SASL_MECHANISM;
  readonly users: Readonly<Record<KafkaPrincipal, string>>;
}

/** Random bytes in each generated password (base64url: 32 characters). */
const PASSWORD_BYTES = 24;

/** Where a local installation keeps its Kafka users, below its cache directory. */
export const kafkaUsersFileIn = (cacheDir: string): string => path.join(cacheDir, 'keys', 'kafka-users.json');

function isUsersFile(value: unknown): value is KafkaUsersFile {
  if (typeof value !== 'object' || value === null) return false;
  const { mechanism, users } = value as { mechanism?: unknown; users?: unknown };
  if (mechanism !== LOCAL_SASL_MECHANISM || typeof users !== 'object' || users === null) return false;
  return KafkaPrincipals.every((p) => typeof (users as Record<string, unknown>)[p] === 'string');
}

/** Reads a users file; throws naming the file when it is missing or not one. */
export function readKafkaUsersFile(file: string): KafkaUsersFile {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isUsersFile(parsed)) {
    throw new Error(
      `${file} is not a Kafka users file (mechanism ${LOCAL_SASL_MECHANISM}, one password per principal)`,
    );
  }
  return parsed;
}

/**
 * The Kafka users of a file, generated on first use (random passwords, file mode 0600, created exclusively so that
 * concurrent first uses agree). A file from an older version that lacks a principal is regenerated. For local
 * installations; production credentials come from a secret store (or Strimzi's KafkaUser secrets).
 */
export function ensureKafkaUsersFile(file: string): KafkaUsersFile {
  if (fs.existsSync(file)) {
    try {
      return readKafkaUsersFile(file);
    } catch {
      fs.rmSync(file, { force: true }); // not ours or outdated: a new set (the stack reformats on the change)
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const users = Object.fromEntries(
    KafkaPrincipals.map((p) => [p, randomBytes(PASSWORD_BYTES).toString('base64url')]),
  ) as Record<KafkaPrincipal, string>;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ mechanism: LOCAL_SASL_MECHANISM, users }, null, 2)}\n`, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file); // fails if another process created it first: theirs wins
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return readKafkaUsersFile(file);
}

/** The client security of one principal of a users file (SASL over plaintext, as the local stack listens). */
export function kafkaSecurityOf(users: KafkaUsersFile, principal: KafkaPrincipal): KafkaSecurity {
  return { ssl: false, sasl: { mechanism: users.mechanism, username: principal, password: users.users[principal] } };
}

/** The environment that makes a worker process connect as a principal (KAFKA_SASL_*). */
export function kafkaSaslEnv(users: KafkaUsersFile, principal: KafkaPrincipal): Record<string, string> {
  return {
    KAFKA_SASL_MECHANISM: users.mechanism,
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD: users.users[principal],
  };
}

/** What a principal may do with the topics of one prefix. */
interface TopicRights {
  readonly read: readonly TopicKind[];
  readonly write: readonly TopicKind[];
}

/**
 * Which topic kinds each principal reads and writes (from the event types its handlers consume and emit, see
 * topicKindOf). Every worker writes alerts and its dead letters. Kafka's ACLs are per topic: the verdicts topic is
 * written by the guard (verdicts, escalations), the escalation service (people's decisions, expiries), the planner
 * (the escalation it raises when it cannot go on) and the executor (the person it asks when a tool's breaker is open
 * or an effect's outcome is unknown: EscalationRequested travels on the verdicts topic), never by the auditor or a
 * client; an ActionApproved or a person's decision is trusted for its signature, not for its topic. Proposals are written by the planner only, tool results by
 * the executor only, tasks by clients only.
 */
export const topicRights: Readonly<Record<Exclude<KafkaPrincipal, 'admin'>, TopicRights>> = {
  planner: {
    read: ['tasks', 'results', 'verdicts', 'alerts'],
    write: ['planning', 'proposals', 'verdicts', 'outcomes', 'alerts', 'dlq'],
  },
  // The guard reads the tasks' ends to evict their state (ADR 0027).
  guard: { read: ['tasks', 'results', 'proposals', 'outcomes'], write: ['verdicts', 'alerts', 'dlq'] },
  // The executor keeps its own record of each task (ADR 0018): it reads the tasks and their ends.
  executor: { read: ['tasks', 'verdicts', 'outcomes'], write: ['results', 'verdicts', 'alerts', 'dlq'] },
  // An admin's rollback (ADR 0026) reads the task's log and submits the compensations as a new task.
  escalation: {
    read: ['tasks', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'],
    write: ['tasks', 'verdicts', 'alerts', 'dlq'],
  },
  auditor: {
    read: ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts', 'dlq'],
    write: ['alerts', 'dlq'],
  },
  client: {
    read: ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts', 'dlq'],
    write: ['tasks'],
  },
};

/**
 * The consumer groups (and transactional ids) a client may use: the CLI's `warden-cli-<random>`, the Python examples'
 * `warden-python-subscriber` and `python-producer-<uuid>`.
 */
export const CLIENT_GROUP_PREFIXES = ['warden-cli-', 'warden-python-', 'python-producer-'] as const;

/**
 * Topics outside the audit kinds, each read and written by one principal: the executor's compacted breaker states
 * (`<prefix>.breakers.v1`, shared by its replicas, each with its own group `<topic>.<replica>`), the planner's tenant
 * budget log (`<prefix>.tenant-budgets.v1`, ADR 0032: folded by every replica under its own group) and its snapshots
 * (`<prefix>.tenant-budget-snapshots.v1`, ADR 0035: read under the log's group prefix), the auditor's
 * signed checkpoints (`<prefix>.checkpoints.v1`) and each worker's compacted state changelog
 * (`<prefix>.<worker>-state.v1`, ADR 0027; restored under throw-away groups inside the worker's group prefix).
 */
const ownTopics = (prefix: string): ReadonlyArray<{ principal: WorkerPrincipal; topic: string; groups?: string }> => [
  { principal: 'executor', topic: `${prefix}.breakers.v1`, groups: `${prefix}.breakers.v1.` },
  { principal: 'planner', topic: `${prefix}.tenant-budgets.v1`, groups: `${prefix}.tenant-budgets.v1.` },
  { principal: 'planner', topic: `${prefix}.tenant-budget-snapshots.v1` }, // read under the log's groups (ADR 0035)
  { principal: 'auditor', topic: `${prefix}.checkpoints.v1` },
  ...WorkerPrincipals.map((principal) => ({ principal, topic: new Topics(prefix).stateOf(principal) })),
];

/**
 * Topics one principal reads and another (the admin, through the CLI) writes: the published calibrations (ADR 0025),
 * followed by every guard replica under its own group `<topic>.<replica>`.
 */
const readOnlyTopics = (
  prefix: string,
): ReadonlyArray<{ principal: WorkerPrincipal; topic: string; groups: string }> => [
  { principal: 'guard', topic: `${prefix}.calibrations.v1`, groups: `${prefix}.calibrations.v1.` },
];

function acl(
  principal: string,
  resourceType: AclResourceTypes,
  resourceName: string,
  operation: AclOperationTypes,
  pattern: ResourcePatternTypes = Pattern.PREFIXED,
): AclEntry {
  return {
    principal: `User:${principal}`,
    host: '*',
    resourceType,
    resourceName,
    resourcePatternType: pattern,
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/**
 * The ACLs of every non-admin principal for the topics, consumer groups and transactional ids of one topic prefix.
 * Topics are LITERAL names (`<prefix>.<kind>.v1`); a worker's group and transactional ids are PREFIXED by
 * `<prefix>.<worker>` (its default group and the ids derived from it). Every worker may describe and create the
 * prefix's topics (it ensures them at start), not write them.
 */
export function kafkaAclsFor(prefix: string): AclEntry[] {
  const topics = new Topics(prefix);
  const entries: AclEntry[] = [];
  const { TOPIC, GROUP, TRANSACTIONAL_ID, CLUSTER } = Resource;
  const { READ, WRITE, DESCRIBE, CREATE, DESCRIBE_CONFIGS, IDEMPOTENT_WRITE } = Operation;
  const { LITERAL } = Pattern;
  for (const [principal, rights] of Object.entries(topicRights)) {
    entries.push(acl(principal, TOPIC, `${prefix}.`, DESCRIBE), acl(principal, TOPIC, `${prefix}.`, CREATE));
    entries.push(acl(principal, TOPIC, `${prefix}.`, DESCRIBE_CONFIGS));
    for (const kind of rights.read) entries.push(acl(principal, TOPIC, topics.of(kind), READ, LITERAL));
    for (const kind of rights.write) entries.push(acl(principal, TOPIC, topics.of(kind), WRITE, LITERAL));
    entries.push(acl(principal, CLUSTER, 'kafka-cluster', IDEMPOTENT_WRITE, LITERAL));
    const own = principal === 'client' ? CLIENT_GROUP_PREFIXES : [`${prefix}.${principal}`];
    for (const id of own) {
      entries.push(acl(principal, GROUP, id, READ), acl(principal, TRANSACTIONAL_ID, id, WRITE));
      entries.push(acl(principal, TRANSACTIONAL_ID, id, DESCRIBE));
    }
  }
  for (const own of readOnlyTopics(prefix)) {
    entries.push(acl(own.principal, TOPIC, own.topic, READ, LITERAL), acl(own.principal, GROUP, own.groups, READ));
  }
  for (const own of ownTopics(prefix)) {
    for (const operation of [READ, WRITE]) entries.push(acl(own.principal, TOPIC, own.topic, operation, LITERAL));
    if (own.groups !== undefined) entries.push(acl(own.principal, GROUP, own.groups, READ));
  }
  return entries;
}

/** Grants the ACLs of a topic prefix (idempotent: Kafka keeps one copy of an ACL created twice). Needs a super user. */
export async function grantKafkaAcls(admin: Admin, prefix: string): Promise<void> {
  await admin.createAcls({ acl: kafkaAclsFor(prefix) });
}
