import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KafkaPrincipals,
  ensureKafkaUsersFile,
  kafkaAclsFor,
  kafkaSaslEnv,
  readKafkaUsersFile,
  topicRights,
} from '../src/kafka-principals.js';
import { Topics } from '../src/topics.js';

const dirs: string[] = [];
const tempFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-users-'));
  dirs.push(dir);
  return join(dir, 'keys', 'kafka-users.json');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** kafkajs's AclResourceTypes.TOPIC and .CLUSTER, AclOperationTypes.WRITE (Kafka's protocol codes). */
const TOPIC = 2;
const CLUSTER = 4;
const WRITE = 4;
/** AclOperationTypes.READ. */
const READ = 3;

/** The topics a principal may write under a prefix, from the ACLs themselves. */
const writable = (prefix: string, principal: string): string[] =>
  kafkaAclsFor(prefix)
    .filter(
      (a) => a.principal === `User:${principal}` && Number(a.resourceType) === TOPIC && Number(a.operation) === WRITE,
    )
    .map((a) => a.resourceName)
    .sort();

describe('Kafka principals of a local installation (ADR 0019)', () => {
  it('generates one random password per principal once, in a file only its owner reads', () => {
    const file = tempFile();
    const first = ensureKafkaUsersFile(file);
    expect(Object.keys(first.users).sort()).toEqual([...KafkaPrincipals].sort());
    expect(new Set(Object.values(first.users)).size).toBe(KafkaPrincipals.length);
    expect(first.users.admin).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ensureKafkaUsersFile(file)).toEqual(first);
    expect(kafkaSaslEnv(first, 'guard')).toEqual({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'guard',
      KAFKA_SASL_PASSWORD: first.users.guard,
    });
  });

  it('replaces a file that is not a users file, and names a file it cannot read as one', () => {
    const file = tempFile();
    ensureKafkaUsersFile(file);
    writeFileSync(file, JSON.stringify({ mechanism: 'scram-sha-512', users: { admin: 'x' } }));
    expect(() => readKafkaUsersFile(file)).toThrow(file);
    expect(Object.keys(ensureKafkaUsersFile(file).users)).toHaveLength(KafkaPrincipals.length);
  });

  it('lets only the guard, the escalation service, the planner and the executor (its escalations) write verdicts; proposals only the planner', () => {
    const writers = (topic: string): string[] =>
      Object.keys(topicRights)
        .filter((p) => writable('w', p).includes(topic))
        .sort();
    expect(writers('w.verdicts.v1')).toEqual(['escalation', 'executor', 'guard', 'planner']);
    // The executor asks a person (breaker open, outcome unknown): EscalationRequested goes to the verdicts topic.
    expect(writable('w', 'executor')).toContain(new Topics('w').forType('EscalationRequested'));
    expect(writers('w.proposals.v1')).toEqual(['planner']);
    expect(writers('w.results.v1')).toEqual(['executor']);
    // Clients submit tasks; the escalation service submits an admin's rollback as a new task (ADR 0026).
    expect(writers('w.tasks.v1')).toEqual(['client', 'escalation']);
    expect(writable('w', 'executor')).toEqual([
      'w.alerts.v1',
      'w.breakers.v1',
      'w.dlq.v1',
      'w.executor-state.v1',
      'w.results.v1',
      'w.verdicts.v1',
    ]);
  });

  it("lets each worker alone read and write its state changelog (ADR 0027); the guard reads the tasks' ends", () => {
    const writers = (topic: string): string[] =>
      Object.keys(topicRights)
        .filter((p) => writable('w', p).includes(topic))
        .sort();
    expect(writers('w.guard-state.v1')).toEqual(['guard']);
    expect(writers('w.planner-state.v1')).toEqual(['planner']);
    const reads = kafkaAclsFor('w').filter(
      (a) => a.resourceName === 'w.guard-state.v1' && Number(a.operation) === READ,
    );
    expect(reads.map((a) => a.principal)).toEqual(['User:guard']);
    expect(topicRights.guard.read).toContain('outcomes');
  });

  it('grants nothing outside its prefix: topics, worker groups and transactional ids all start with "<prefix>."', () => {
    const entries = kafkaAclsFor('acme');
    const workers = entries.filter((a) => a.principal !== 'User:client' && Number(a.resourceType) !== CLUSTER);
    expect(workers.length).toBeGreaterThan(0);
    for (const entry of workers) expect(entry.resourceName.startsWith('acme.'), JSON.stringify(entry)).toBe(true);
    const clientTopics = entries.filter((a) => a.principal === 'User:client' && Number(a.resourceType) === TOPIC);
    for (const entry of clientTopics) expect(entry.resourceName.startsWith('acme.'), JSON.stringify(entry)).toBe(true);
    expect(entries.some((a) => a.principal === 'User:admin')).toBe(false);
  });
});
