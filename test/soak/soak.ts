/**
 * The load-and-fault soak: N tasks submitted at once to the real workers run as processes on a private stack it
 * starts itself; during the run each worker is SIGKILLed once (and started again), the broker is restarted and
 * MongoDB is restarted. It then counts what a user relies on: every task ended exactly once (none lost), no effect
 * twice (each task's refund at most once, each effect's outcome published once), no effect after its task's
 * wall-time budget, and every task's chain verified by the auditor.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditTask } from '@warden/auditor';
import { newTask, terminalEventTypes, type WardenEvent, type WireEnvelope } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { grantKafkaAcls, kafkaSaslEnv, readKafkaUsersFile } from '@warden/runtime';
import { EventCollector, startTestPublisher, testKafka, testWorkerConfig } from '@warden/runtime/testing';
import { MongoClient } from 'mongodb';
import { DEMO_CUSTOMERS } from '../../cli/src/demo/scenarios.js';
import { ensureDecisionKeys, ensureGuardKeys } from '../../infra/stack/decision-keys.js';
import { freePort, SoakServices, WorkerProcess, type SoakService } from './fleet.js';
import { startPrivateStack, type PrivateStackOptions, type StackServer } from './private-stack.js';

/** What a soak run does. */
export interface SoakOptions {
  /** Tasks submitted at once. */
  readonly tasks: number;
  /** Whether to inject the faults (each worker SIGKILLed once, the broker and MongoDB restarted). */
  readonly faults: boolean;
  /** How long the tasks may take to end, in all. */
  readonly timeoutMs: number;
  /** The private stack's ports and run directory. */
  readonly stack: PrivateStackOptions;
  /** Where the workers' logs and workspace go. */
  readonly workDir: string;
  /** Leave the private stack running at the end (for a next run). */
  readonly keepStack?: boolean;
  /** Each task's wall-time budget. */
  readonly taskWallTimeMs?: number;
  /** The longest time between two faults (and from the submission to the first); see DEFAULT_FAULT_GAP_MS. */
  readonly faultGapMs?: number;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** A fault as it was injected. */
export interface FaultRecord {
  readonly fault: string;
  /** Seconds since the submission. */
  readonly atS: number;
  /** Tasks ended when it was injected. */
  readonly endedBefore: number;
  /** How long the server or worker took to be back. */
  readonly downS: number;
}

/** What a soak run found. */
export interface SoakReport {
  readonly tasks: number;
  readonly completed: number;
  readonly failed: number;
  readonly halted: number;
  /** Tasks with no terminal event at the end. */
  readonly lost: number;
  /** Terminal events beyond the first of a task. */
  readonly duplicatedOutcomes: number;
  /** Refunds beyond the first of a task (the tools' store). */
  readonly duplicatedEffects: number;
  /** ToolSucceeded events beyond the first of an effect key. */
  readonly duplicatedResults: number;
  /** Refunds recorded after their task's wall-time budget had run out. */
  readonly effectsPastDeadline: number;
  readonly refunds: number;
  /** Chains found complete by the auditor's check (auditTask) over the topics read back. */
  readonly chainsVerified: number;
  readonly chainsNotVerified: number;
  /** Of a sample, chains the auditor's API (GET /v1/tasks/:id/verify) found complete. */
  readonly apiChainsVerified: number;
  readonly apiChainsSampled: number;
  /** Why tasks halted or failed, with counts. */
  readonly endings: Record<string, number>;
  /** AlertRaised events of the run's tenant, by code. */
  readonly alerts: Record<string, number>;
  /** The auditor's chain-broken alerts (audit_chain_broken); each is false when every chain verified. */
  readonly chainAlerts: number;
  /** Messages on the DLQ (every task of the soak is good: none belongs there). */
  readonly deadLetters: number;
  readonly faults: readonly FaultRecord[];
  /** From the submission to the last task's end (or the timeout). */
  readonly elapsedS: number;
  /** Seconds from the submission until 50% and 100% of the tasks had ended. */
  readonly p50S: number | null;
  readonly p100S: number | null;
  /** Each hop (cause type -> event type) by its latency in seconds: where a task's time goes. */
  readonly hops: readonly Hop[];
  /** Why the run is not clean (empty when it is). */
  readonly problems: readonly string[];
}

/** The latency from events of one type to the events they caused, of one type (occurredAt to occurredAt). */
export interface Hop {
  readonly hop: string;
  readonly count: number;
  readonly p50S: number;
  readonly p95S: number;
  readonly maxS: number;
}

/** Each hop's latencies, from the events' causation ids and times. */
export function hopLatencies(events: readonly WardenEvent[]): Hop[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const gaps = new Map<string, number[]>();
  for (const e of events) {
    const cause = e.causationId === null ? undefined : byId.get(e.causationId);
    if (cause === undefined) continue;
    const hop = `${cause.type} -> ${e.type}`;
    const list = gaps.get(hop) ?? [];
    list.push(Date.parse(e.occurredAt) - Date.parse(cause.occurredAt));
    gaps.set(hop, list);
  }
  return [...gaps.entries()]
    .map(([hop, ms]) => {
      ms.sort((a, b) => a - b);
      const q = (f: number): number => seconds(ms[Math.min(ms.length - 1, Math.floor(f * ms.length))]!);
      return { hop, count: ms.length, p50S: q(0.5), p95S: q(0.95), maxS: seconds(ms.at(-1)!) };
    })
    .sort((a, b) => b.p50S * b.count - a.p50S * a.count);
}

/** The private stack's ports and run directory unless told otherwise (free of the shared stack's defaults). */
export const DEFAULT_SOAK_STACK = {
  runDir: join(tmpdir(), 'warden-soak-stack'),
  kafkaPort: 49092,
  registryPort: 48081,
  mongoPort: 37020,
} as const;

const TENANT = 'tenant-soak';
const SCENARIO = 'pipeline-refund';
/** How long a worker or server may take to be ready again. */
const READY_TIMEOUT_MS = 120_000;
/** Progress is reported this often. */
const PROGRESS_EVERY_MS = 5_000;
/**
 * A fault is injected once its share of the tasks has ended (FAULT_PLAN), or this long after the previous fault was
 * over (the first: after the submission), whichever comes first, so every fault lands while tasks are in flight
 * even when they all progress together and end close together.
 */
const DEFAULT_FAULT_GAP_MS = 30_000;
/** The auditor may lag behind the outcomes: a chain not yet complete is asked again until this passes. */
const VERIFY_TIMEOUT_MS = 180_000;
/** Tasks verified through the auditor's API (it answers from FerretDB, which scans: a sample, not all). */
const API_VERIFY_SAMPLE = 25;
/** auditTask checks a checkpoint's signature with it; the soak passes no checkpoint. */
const UNUSED_CHECKPOINT_KEY = 'unused'.repeat(8);
/** Tasks verified at once through the auditor's API. */
const VERIFY_CONCURRENCY = 8;
/** The final read of the topics is complete once no message came for this long. */
const SETTLE_MS = 5_000;

type Fault =
  { readonly kind: 'kill'; readonly service: SoakService } | { readonly kind: 'restart'; readonly server: StackServer };
/** The faults, in order, with the share of ended tasks at which each is injected. */
const FAULT_PLAN: ReadonlyArray<readonly [number, Fault]> = [
  [0.1, { kind: 'kill', service: 'planner' }],
  [0.2, { kind: 'kill', service: 'guard' }],
  [0.3, { kind: 'kill', service: 'executor' }],
  [0.4, { kind: 'kill', service: 'auditor' }],
  [0.5, { kind: 'restart', server: 'kafka' }],
  [0.65, { kind: 'restart', server: 'mongo' }],
];
const faultName = (f: Fault): string => (f.kind === 'kill' ? `SIGKILL ${f.service}` : `restart ${f.server}`);

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** Runs the soak and returns its report (it never throws for a finding; only for a set-up failure). */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const topicPrefix = `soak-${runId}`;
  const mongoDb = `soak_${runId}`;
  const dir = join(o.workDir, runId);
  mkdirSync(join(dir, 'workspace'), { recursive: true });
  o.log(`soak ${runId}: ${o.tasks} tasks, faults ${o.faults ? 'on' : 'off'}; logs in ${dir}`);
  const stack = await startPrivateStack(o.stack);
  const endpoints = stack.endpoints;
  o.log(`private stack up: ${endpoints.kafkaBrokers}, ${endpoints.mongoUrl}`);
  const mongo = new MongoClient(endpoints.mongoUrl);
  const workers = new Map<SoakService, WorkerProcess>();
  const closers: Array<() => Promise<void>> = [];
  try {
    await mongo.connect();
    const db = mongo.db(mongoDb);
    await db.collection('customers').insertMany(DEMO_CUSTOMERS.map((c) => ({ ...c })) as never[]);
    const auditorKey = randomBytes(16).toString('hex');
    const keys = ensureDecisionKeys();
    // The guard signs its verdicts and the executor runs only those (ADR 0018).
    const guardKeys = ensureGuardKeys();
    // Each worker connects as its own Kafka principal, with the ACLs of this run's prefix (ADR 0019).
    const users = endpoints.kafkaUsersFile === undefined ? undefined : readKafkaUsersFile(endpoints.kafkaUsersFile);
    if (users !== undefined) {
      const admin = testKafka(endpoints).admin();
      await admin.connect();
      try {
        await grantKafkaAcls(admin, topicPrefix);
      } finally {
        await admin.disconnect();
      }
    }
    const principalEnv = (service: SoakService): Record<string, string> =>
      users === undefined || service === 'scripted-model' ? {} : kafkaSaslEnv(users, service);
    const modelPort = await freePort();
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: endpoints.kafkaBrokers,
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      MONGO_URL: endpoints.mongoUrl,
      MONGO_DB: mongoDb,
      WARDEN_TOPIC_PREFIX: topicPrefix,
      LOG_LEVEL: 'warn',
    };
    for (const service of SoakServices) {
      const port = service === 'scripted-model' ? modelPort : await freePort();
      const own: Record<string, string> = { WARDEN_HTTP_PORT: String(port), ...principalEnv(service) };
      let readyUrl = `http://127.0.0.1:${port}/readyz`;
      if (service === 'scripted-model') {
        Object.assign(own, { SCRIPTED_MODEL_PORT: String(port), SCRIPTED_MODEL_HOST: '127.0.0.1' });
      }
      if (service === 'planner') {
        Object.assign(own, {
          OPENAI_BASE_URL: `http://127.0.0.1:${modelPort}/v1`,
          OPENAI_API_KEY: 'scripted',
          WARDEN_DECISION_PUBLIC_KEYS: keys.verifyingKeyText,
        });
      }
      if (service === 'guard') Object.assign(own, { GUARD_SIGNING_KEY: guardKeys.signingKeyText });
      if (service === 'executor') {
        Object.assign(own, {
          EXECUTOR_WORKSPACE_ROOT: join(dir, 'workspace'),
          EXECUTOR_REPLICA_ID: `soak-executor-${runId}`,
          WARDEN_DECISION_PUBLIC_KEYS: keys.verifyingKeyText,
          WARDEN_GUARD_PUBLIC_KEYS: guardKeys.verifyingKeyText,
        });
      }
      if (service === 'auditor') {
        const apiPort = await freePort();
        Object.assign(own, {
          AUDITOR_API_PORT: String(apiPort),
          AUDITOR_API_HOST: '127.0.0.1',
          AUDITOR_API_KEYS: `${TENANT}:${auditorKey}`,
          AUDITOR_CHECKPOINT_KEY: randomBytes(32).toString('hex'),
        });
        readyUrl = `http://127.0.0.1:${apiPort}/healthz`;
      }
      workers.set(service, new WorkerProcess(service, { ...base, ...own }, readyUrl, join(dir, `${service}.log`)));
    }
    const model = workers.get('scripted-model')!;
    await model.start(READY_TIMEOUT_MS);
    await Promise.all([...workers.values()].filter((w) => w !== model).map((w) => w.start(READY_TIMEOUT_MS)));
    o.log(`workers ready: ${[...workers.values()].map((w) => `${w.service} (pid ${w.pid})`).join(', ')}`);

    const config = testWorkerConfig(endpoints, { topicPrefix, mongoDb, subjectPrefix: 'warden.' });
    const publisher = await startTestPublisher(config);
    closers.push(() => publisher.close());
    const topic = (kind: string): string => `${topicPrefix}.${kind}.v1`;
    const live = await EventCollector.start(endpoints, [topic('outcomes')], mongoDb);
    closers.push(() => live.close());

    const wallTimeMs = o.taskWallTimeMs ?? 600_000;
    const taskIds = Array.from({ length: o.tasks }, (_, i) => `${runId}-${String(i).padStart(5, '0')}`);
    const drafts = taskIds.map((taskId) =>
      newTask(
        sampleTask({
          model: `scripted:${SCENARIO}`,
          goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
          input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
          scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
          budgets: { maxTokens: 50_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: wallTimeMs },
        }),
        { tenantId: TENANT, taskId, producer: 'soak' },
      ),
    );
    const t0 = Date.now();
    for (let i = 0; i < drafts.length; i += 100) await publisher.publish(...drafts.slice(i, i + 100));
    o.log(`submitted ${o.tasks} tasks in ${seconds(Date.now() - t0)} s`);

    const endedAt = new Map<string, number>();
    const ended = (): number => {
      for (const e of live.events()) {
        if (terminalEventTypes.has(e.type) && !endedAt.has(e.taskId)) endedAt.set(e.taskId, Date.now() - t0);
      }
      return endedAt.size;
    };
    const faults: FaultRecord[] = [];
    const plan = o.faults ? [...FAULT_PLAN] : [];
    let faulting: Promise<void> = Promise.resolve();
    let busy = false;
    let lastFault = Date.now();
    const inject = async (fault: Fault): Promise<void> => {
      const started = Date.now();
      const endedBefore = ended();
      o.log(`fault: ${faultName(fault)} (${endedBefore}/${o.tasks} ended)`);
      if (fault.kind === 'kill') {
        const w = workers.get(fault.service)!;
        await w.stop('SIGKILL', 10_000);
        await w.start(READY_TIMEOUT_MS);
      } else {
        await stack.restart(fault.server);
      }
      const record = {
        fault: faultName(fault),
        atS: seconds(started - t0),
        endedBefore,
        downS: seconds(Date.now() - started),
      };
      faults.push(record);
      o.log(`fault: ${record.fault} done, back after ${record.downS} s`);
    };
    const deadline = t0 + o.timeoutMs;
    while (Date.now() < deadline) {
      const count = ended();
      const next = plan[0];
      if (next !== undefined && !busy) {
        const due = Date.now() - lastFault >= (o.faultGapMs ?? DEFAULT_FAULT_GAP_MS);
        if (count >= next[0] * o.tasks || due || count === o.tasks) {
          plan.shift();
          busy = true;
          faulting = inject(next[1]).finally(() => {
            busy = false;
            lastFault = Date.now();
          });
          faulting.catch(() => undefined); // observed below
        }
      }
      if (count === o.tasks && plan.length === 0 && !busy) break;
      o.log(
        `t=${seconds(Date.now() - t0)}s ended ${count}/${o.tasks}${busy ? ' (fault in progress)' : ''}; ` +
          `workers ${[...workers.values()].map((w) => `${w.service}:${w.pid ?? 'down'}`).join(' ')}`,
      );
      await new Promise((r) => setTimeout(r, Math.min(PROGRESS_EVERY_MS, Math.max(0, deadline - Date.now()))));
    }
    await faulting;
    const finished = ended();
    const elapsedMs = finished === o.tasks ? Math.max(...endedAt.values()) : Date.now() - t0;
    o.log(`run over after ${seconds(elapsedMs)} s: ${finished}/${o.tasks} ended; counting`);
    const sorted = [...endedAt.values()].sort((a, b) => a - b);
    const at = (q: number): number | null => {
      const need = Math.ceil(q * o.tasks);
      return sorted.length >= need && need > 0 ? seconds(sorted[need - 1]!) : null;
    };

    // The final count, from the topics read again from their beginning.
    const kinds = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts', 'dlq'];
    const all = await EventCollector.start(endpoints, kinds.map(topic), mongoDb);
    closers.push(() => all.close());
    let seen = -1;
    while (all.messages.length !== seen) {
      seen = all.messages.length;
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    const decoded = all.messages.flatMap((m) => (m.decoded?.event.tenantId === TENANT ? [m.decoded] : []));
    const events = decoded.map((d) => d.event);
    const report = await count(o, taskIds, events, db, t0, wallTimeMs);
    // Every chain with the auditor's own check (auditTask: the hash chain and a terminal event) over the topics as
    // read back; a sample also through the auditor's API, which answers from its MongoDB projection.
    const envelopes = new Map<string, WireEnvelope[]>();
    for (const d of decoded) envelopes.set(d.event.taskId, [...(envelopes.get(d.event.taskId) ?? []), d.envelope]);
    const broken = taskIds.flatMap((taskId) => {
      const audit = auditTask(taskId, envelopes.get(taskId) ?? [], null, UNUSED_CHECKPOINT_KEY);
      return audit.status === 'complete'
        ? []
        : [`${taskId}: ${audit.status} ${JSON.stringify(audit.problems).slice(0, 200)}`];
    });
    const sample = taskIds.filter((_, i) => i % Math.max(1, Math.floor(taskIds.length / API_VERIFY_SAMPLE)) === 0);
    const verify = await verifyChains(workers.get('auditor')!, auditorKey, sample, o.log);
    const alerts: Record<string, number> = {};
    for (const e of events) if (e.type === 'AlertRaised') alerts[e.data.code] = (alerts[e.data.code] ?? 0) + 1;
    const chainAlerts = alerts.audit_chain_broken ?? 0;
    const deadLetters = all.messages.filter((m) => m.topic === topic('dlq')).length;
    const problems = [...report.problems];
    if (chainAlerts > 0) {
      problems.push(
        broken.length === 0
          ? `${chainAlerts} chain-broken alerts raised for chains that are whole in the log`
          : `${chainAlerts} chain-broken alerts raised`,
      );
    }
    if (deadLetters > 0) problems.push(`${deadLetters} messages dead-lettered (the soak sends none that belong there)`);
    if (broken.length > 0) problems.push(`${broken.length} chains not verified, e.g. ${broken.slice(0, 3).join('; ')}`);
    if (verify.notVerified.length > 0) {
      problems.push(
        `${verify.notVerified.length} of ${sample.length} chains not verified by the auditor's API, e.g. ${verify.notVerified.slice(0, 3).join('; ')}`,
      );
    }
    if (o.faults && faults.length < FAULT_PLAN.length)
      problems.push(`only ${faults.length} of ${FAULT_PLAN.length} faults injected`);
    return {
      ...report,
      hops: hopLatencies(events),
      chainsVerified: taskIds.length - broken.length,
      chainsNotVerified: broken.length,
      apiChainsVerified: verify.verified,
      apiChainsSampled: sample.length,
      alerts,
      chainAlerts,
      deadLetters,
      faults,
      elapsedS: seconds(elapsedMs),
      p50S: at(0.5),
      p100S: at(1),
      problems,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await Promise.all([...workers.values()].map((w) => w.stop('SIGTERM', 20_000)));
    await mongo.close().catch(() => undefined);
    if (o.keepStack !== true) await stack.down();
  }
}

type Counted = Omit<
  SoakReport,
  | 'alerts'
  | 'chainAlerts'
  | 'deadLetters'
  | 'hops'
  | 'apiChainsVerified'
  | 'apiChainsSampled'
  | 'chainsVerified'
  | 'chainsNotVerified'
  | 'faults'
  | 'elapsedS'
  | 'p50S'
  | 'p100S'
>;

async function count(
  o: SoakOptions,
  taskIds: readonly string[],
  events: readonly WardenEvent[],
  db: ReturnType<MongoClient['db']>,
  t0: number,
  wallTimeMs: number,
): Promise<Counted> {
  const terminal = new Map<string, Set<string>>();
  const results = new Map<string, Set<string>>();
  const endings: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  let halted = 0;
  const firstEnd = new Set<string>();
  for (const e of events) {
    if (terminalEventTypes.has(e.type)) {
      const ids = terminal.get(e.taskId) ?? new Set<string>();
      ids.add(e.id);
      terminal.set(e.taskId, ids);
      if (firstEnd.has(e.taskId)) continue;
      firstEnd.add(e.taskId);
      if (e.type === 'TaskCompleted') completed++;
      if (e.type === 'TaskFailed' || e.type === 'TaskHalted') {
        if (e.type === 'TaskFailed') failed++;
        else halted++;
        const key = `${e.type}:${e.data.reasonCode}`;
        endings[key] = (endings[key] ?? 0) + 1;
      }
    }
    if (e.type === 'ToolSucceeded') {
      const ids = results.get(e.data.effectKey) ?? new Set<string>();
      ids.add(e.id);
      results.set(e.data.effectKey, ids);
    }
  }
  const lost = taskIds.filter((t) => !terminal.has(t));
  const duplicatedOutcomes = [...terminal.values()].reduce((n, ids) => n + ids.size - 1, 0);
  const duplicatedResults = [...results.values()].reduce((n, ids) => n + ids.size - 1, 0);
  const refunds = await db
    .collection<{ _id: string; refundedAt: Date }>('refunds')
    .find({}, { projection: { _id: 1, refundedAt: 1 } })
    .toArray();
  const perTask = new Map<string, number>();
  let effectsPastDeadline = 0;
  for (const r of refunds) {
    const taskId = r._id.slice(0, r._id.indexOf(':'));
    perTask.set(taskId, (perTask.get(taskId) ?? 0) + 1);
    // Every task was submitted at t0 (give or take the submission's seconds): a refund after t0 + budget is late.
    if (r.refundedAt.getTime() > t0 + wallTimeMs) effectsPastDeadline++;
  }
  const duplicatedEffects = [...perTask.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  const problems: string[] = [];
  if (lost.length > 0)
    problems.push(`${lost.length} tasks lost (no terminal event), e.g. ${lost.slice(0, 5).join(', ')}`);
  if (duplicatedOutcomes > 0) problems.push(`${duplicatedOutcomes} duplicated terminal events`);
  if (duplicatedEffects > 0) problems.push(`${duplicatedEffects} duplicated refunds`);
  if (duplicatedResults > 0) problems.push(`${duplicatedResults} duplicated ToolSucceeded events`);
  if (effectsPastDeadline > 0) problems.push(`${effectsPastDeadline} refunds after their task's wall-time budget`);
  void o;
  return {
    tasks: taskIds.length,
    completed,
    failed,
    halted,
    lost: lost.length,
    duplicatedOutcomes,
    duplicatedEffects,
    duplicatedResults,
    effectsPastDeadline,
    refunds: refunds.length,
    endings,
    problems,
  };
}

async function verifyChains(
  auditor: WorkerProcess,
  key: string,
  taskIds: readonly string[],
  log: (line: string) => void,
): Promise<{ verified: number; notVerified: string[] }> {
  const api = auditor.readyUrl.replace(/\/healthz$/, '');
  const pending = new Set(taskIds);
  const last = new Map<string, string>();
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  while (pending.size > 0 && Date.now() < deadline) {
    const batch = [...pending];
    for (let i = 0; i < batch.length; i += VERIFY_CONCURRENCY) {
      await Promise.all(
        batch.slice(i, i + VERIFY_CONCURRENCY).map(async (taskId) => {
          try {
            const res = await fetch(`${api}/v1/tasks/${encodeURIComponent(taskId)}/verify`, {
              headers: { authorization: `Bearer ${key}` },
              signal: AbortSignal.timeout(30_000),
            });
            const body = (await res.json()) as { status?: string; problems?: Array<{ kind: string }>; chain?: unknown };
            if (res.status === 200 && body.status === 'complete') pending.delete(taskId);
            else
              last.set(
                taskId,
                `${taskId}: ${res.status} ${body.status ?? ''} ${JSON.stringify(body.problems ?? body).slice(0, 200)}`,
              );
          } catch (error) {
            last.set(taskId, `${taskId}: ${(error as Error).message}`);
          }
        }),
      );
    }
    log(`chains: ${taskIds.length - pending.size}/${taskIds.length} verified`);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 5_000));
  }
  return { verified: taskIds.length - pending.size, notVerified: [...pending].map((t) => last.get(t) ?? t) };
}

/** The report as lines for people. */
export function formatReport(r: SoakReport): string {
  const lines = [
    `tasks ${r.tasks}: completed ${r.completed}, halted ${r.halted}, failed ${r.failed}, lost ${r.lost}`,
    `endings: ${
      Object.entries(r.endings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-'
    }`,
    `effects: ${r.refunds} refunds, duplicated ${r.duplicatedEffects}; duplicated ToolSucceeded ${r.duplicatedResults}; duplicated terminal events ${r.duplicatedOutcomes}; refunds past the wall-time budget ${r.effectsPastDeadline}`,
    `chains verified (the auditor's auditTask over the topics): ${r.chainsVerified}/${r.tasks}; through the auditor's API: ${r.apiChainsVerified}/${r.apiChainsSampled} sampled`,
    `alerts: ${
      Object.entries(r.alerts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }; chain-broken alerts ${r.chainAlerts}; dead letters ${r.deadLetters}`,
    `time: all ended after ${r.p100S ?? '-'} s (half after ${r.p50S ?? '-'} s); run ${r.elapsedS} s`,
    `faults: ${r.faults.map((f) => `${f.fault} at ${f.atS} s (${f.endedBefore} ended, back in ${f.downS} s)`).join('; ') || 'none'}`,
    'hops (cause -> event: count, p50 / p95 / max s):',
    ...r.hops.map((h) => `  ${h.hop}: ${h.count}, ${h.p50S} / ${h.p95S} / ${h.maxS}`),
    r.problems.length === 0 ? 'RESULT: clean' : `RESULT: NOT clean: ${r.problems.join('; ')}`,
  ];
  return lines.join('\n');
}
