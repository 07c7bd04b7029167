/**
 * What earlier tasks leave behind, for agent-step's BENCH_EARLIER_TASKS run (issue 17: "the same bench after 100,000
 * earlier tasks: per-hop latency within 10% of the run with none"). Running that many tasks through the pipeline
 * takes hours here, so a finished task of a first run is taken as the template of what one task leaves: every
 * document of the run's database that names it (whatever collections the workers write: the executor's ledger, the
 * planner's task store and budget log, the escalation service's records, the tools' own records) and every record
 * its id keys on the workers' state changelogs (`<prefix>.<worker>-state.v1`: values and tombstones, as written).
 * Documents that do not name the task but share a generated id with its documents are part of it too: the entries of
 * the tenant's budget log for the task's reservations (their `ref`). Each copy gets fresh generated ids, and the
 * entries of a log shared by all tasks (`_id` `<scope>#<seq>`, the tenant's budget) continue one sequence over the
 * copies, so that the log holds count x k entries of that scope and its head is where count tasks would leave it.
 * `seedEarlierTasks` then writes `count` copies of it, each under a task id of its own, into a fresh pipeline's
 * database (bulk inserts) and changelogs before its workers start: they restore those changelogs and query those
 * collections as they would after `count` tasks.
 *
 * The copies' dates are moved back by `ageMs` (agent-step: BENCH_EARLIER_AGE_DAYS, default 8): the earlier tasks ran
 * that long ago. A starting planner sweeps the reservations of the past 7 days, each checked by a lookup that scans
 * the budget log on FerretDB (10,000 copies dated now held the second run's tasks past 90 s: a cost of a restart,
 * not of a hop); a small age (0.001 days) measures that restart instead.
 *
 * Not seeded: the event topics (tasks, planning, proposals, ...). The workers read them from their committed offsets,
 * so a history behind those offsets is never read again; a fresh group would read it from the start, which is not
 * what a worker after 100,000 tasks does. The auditor's projection is not seeded either (agent-step runs no auditor).
 * What a template holds is found from one real task, so a worker that moves its state from a collection to a
 * changelog (the planner's task state, say) changes what is seeded without a change here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  MAX_REQUEST_BYTES,
  ensureTopics,
  readTopics,
  stateChangelogConfig,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { tenantBudgetTopic, tenantBudgetTopicConfig, type TenantBudgetRecord } from '@warden/planner';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { BSON, MongoClient, ObjectId, type Db, type Document } from 'mongodb';

const { EJSON } = BSON;

/** Collections that hold the pipeline's fixtures rather than what a task leaves (never copied). */
const FIXTURE_COLLECTIONS: ReadonlySet<string> = new Set(['customers']);
/** A state changelog's name: `<prefix>.<worker>-state.v1`. */
const changelogSuffix = '-state.v1';
/** Documents per insertMany, and changelog records per produce request. */
const INSERT_BULK = 1_000;
const PRODUCE_BULK = 2_000;

/** A generated id (a reservation's, an event's) in a task's documents: the link to documents that do not name the task. */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** The `_id` of an entry of a log shared by many tasks: `<scope>#<seq, 12 digits>` (the planner's budget log). */
const SHARED_LOG_ID = /^(.*)#(\d{12})$/;

/** One task's leavings. */
export interface TaskTemplate {
  readonly taskId: string;
  /** The generated ids its documents hold: each copy gets fresh ones (unique keys such as a close of a reservation). */
  readonly links: readonly string[];
  /** Collection name -> the task's documents, as EJSON text (so ObjectIds and Dates survive the copy). */
  readonly documents: ReadonlyMap<string, readonly string[]>;
  /** Worker name -> the task's changelog records in order (null: a tombstone), and the changelog's partitions. */
  readonly changelogs: ReadonlyMap<string, { partitions: number; values: ReadonlyArray<string | null> }>;
  /**
   * The tenant budget log (ADR 0032): its partitions and the tenants the run's allowances were taken for. Its records
   * are keyed by tenant, not by task (a take and a give per allowance, about every ten model calls).
   */
  readonly tenantBudgets?: { readonly partitions: number; readonly tenantIds: readonly string[] };
}

/** What one seeding wrote, and how fast. */
export interface SeedReport {
  readonly tasks: number;
  readonly documents: ReadonlyMap<string, number>;
  readonly records: ReadonlyMap<string, number>;
  readonly mongoMs: number;
  readonly kafkaMs: number;
}

/** Takes what the finished task `taskId` left in the pipeline's database and changelogs. */
export async function captureTemplate(
  kafka: Kafka,
  db: Db,
  config: WorkerRuntimeConfig,
  taskId: string,
  /** What the run's task ids look like: a generated id that other tasks' documents hold too is no link of this one. */
  taskIds: RegExp,
): Promise<TaskTemplate> {
  const all = new Map<string, string[]>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (FIXTURE_COLLECTIONS.has(name) || name.startsWith('system.')) continue;
    all.set(
      name,
      (await db.collection(name).find({}).toArray()).map((d) => EJSON.stringify(d, { relaxed: false })),
    );
  }
  // The documents that name the task, then those linked to them by a generated id without naming it: the entries of
  // the tenant's budget log for the task's reservations (`ref`), for one.
  // A generated id is a link when no document of another task holds it (a replica's id, a subject's key are not).
  const links = new Set<string>();
  const shared = new Set<string>();
  const others = new RegExp(taskIds.source, 'g');
  for (const texts of all.values())
    for (const text of texts) {
      const ids = [...text.matchAll(UUID)].map((m) => m[0]);
      if (text.includes(taskId)) for (const id of ids) links.add(id);
      if ([...text.matchAll(others)].some((m) => m[0] !== taskId)) for (const id of ids) shared.add(id);
    }
  for (const id of shared) links.delete(id);
  const documents = new Map<string, string[]>();
  for (const [name, texts] of all) {
    const mine = texts.filter((text) => text.includes(taskId) || [...text.matchAll(UUID)].some((m) => links.has(m[0])));
    if (mine.length > 0) documents.set(name, mine);
  }
  const admin = kafka.admin();
  await admin.connect();
  const changelogs = new Map<string, { partitions: number; values: Array<string | null> }>();
  try {
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${config.topicPrefix}.`) && t.endsWith(changelogSuffix),
    );
    const meta = await admin.fetchTopicMetadata({ topics });
    for (const t of meta.topics) {
      const worker = t.name.slice(config.topicPrefix.length + 1, -changelogSuffix.length);
      changelogs.set(worker, { partitions: t.partitions.length, values: [] });
    }
    const notAnEvent = { decode: () => Promise.reject(new Error('a changelog record')) };
    await readTopics({ kafka, codec: notAnEvent as never }, topics, {
      follow: false,
      onMessage: (m) => {
        if (m.message.key?.toString() !== taskId) return;
        const worker = m.topic.slice(config.topicPrefix.length + 1, -changelogSuffix.length);
        changelogs.get(worker)?.values.push(m.message.value === null ? null : m.message.value.toString());
      },
    });
  } finally {
    await admin.disconnect();
  }
  for (const [worker, c] of changelogs) if (c.values.length === 0) changelogs.delete(worker);
  const tenantBudgets = await tenantsOfBudgetLog(kafka, config);
  return { taskId, links: [...links], documents, changelogs, ...(tenantBudgets ? { tenantBudgets } : {}) };
}

/** A task id for earlier task i, shaped as the bench's own (`bench-step-<i>-<8 hex>`), unique per seeding. */
const earlierTaskId = (run: string, i: number): string => `earlier-${run}-${i}-${randomBytes(4).toString('hex')}`;

/** Moves every date in a document back by `ms` (in place). */
function age(value: unknown, ms: number): unknown {
  if (value instanceof Date) return new Date(value.getTime() - ms);
  if (Array.isArray(value)) return value.map((v) => age(v, ms));
  if (value !== null && typeof value === 'object' && !(value instanceof ObjectId)) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = age(o[k], ms);
  }
  return value;
}

/**
 * Where copy i of a shared log's entry goes: the template's entries of each shared scope (a log many tasks append to,
 * such as a tenant's budget) are renumbered so that the copies continue one sequence (seq 1 to count x k for k entries
 * per task), as count tasks would have left it: a reader of that log then finds its head where it would be.
 */
type SharedLogPlace = (scope: string, seq: number, i: number) => number | undefined;

/** The renumbering of the template's shared-log entries (by scope, their seqs in order). */
export function sharedLogPlaces(template: TaskTemplate): SharedLogPlace {
  const seqs = new Map<string, number[]>();
  for (const texts of template.documents.values())
    for (const text of texts) {
      const doc = EJSON.parse(text, { relaxed: false }) as Document;
      const id: unknown = doc._id;
      if (typeof id !== 'string' || id.includes(template.taskId) || !isSharedLogEntry(doc)) continue;
      seqs.set(doc.scope, [...(seqs.get(doc.scope) ?? []), Number(doc.seq)]);
    }
  for (const list of seqs.values()) list.sort((a, b) => a - b);
  return (scope, seq, i) => {
    const list = seqs.get(scope);
    const rank = list?.indexOf(seq) ?? -1;
    return list === undefined || rank < 0 ? undefined : i * list.length + rank + 1;
  };
}

/** Whether a template document is an entry of a shared log (its numbers are BSON values: EJSON read canonically). */
function isSharedLogEntry(doc: Document): doc is Document & { _id: string; scope: string } {
  const m = typeof doc._id === 'string' ? SHARED_LOG_ID.exec(doc._id) : null;
  return m !== null && doc.scope === m[1] && Number(doc.seq) === Number(m[2]);
}

/**
 * A document of the template, made the document of task `newId` (copy i): its id replaced wherever it appears, its
 * generated ids (`links`) replaced by fresh ones, its dates moved `ageMs` into the past.
 */
export function cloneDocument(
  text: string,
  template: TaskTemplate,
  newId: string,
  fresh: ReadonlyMap<string, string>,
  i: number,
  ageMs: number,
  place: SharedLogPlace,
): Document {
  let copy = text.replaceAll(template.taskId, newId);
  for (const [old, now] of fresh) copy = copy.replaceAll(old, now);
  const doc = age(EJSON.parse(copy, { relaxed: false }), ageMs) as Document;
  const id: unknown = doc._id;
  if (typeof id === 'string' && !id.includes(newId) && isSharedLogEntry(doc)) {
    // An entry of a log shared with other tasks: it continues the log's sequence (its close key, if its own id, too).
    const seq = place(doc.scope, Number(doc.seq), i);
    if (seq !== undefined) {
      const _id = `${doc.scope}#${String(seq).padStart(12, '0')}`;
      if (doc.closeKey === id) doc.closeKey = _id;
      Object.assign(doc, { _id, seq });
      return doc;
    }
  }
  // An _id that does not name the task (a generated one) is made unique per copy.
  if (id instanceof ObjectId) doc._id = new ObjectId();
  else if (typeof id === 'string' && !id.includes(newId) && ![...fresh.values()].some((v) => id.includes(v)))
    doc._id = `${id}~${i}`;
  return doc;
}

/**
 * Writes `count` copies of the template into the pipeline `config` names (its database and its changelogs, created
 * as the workers create them), before its workers start. Prints progress; returns what it wrote and how fast.
 */
export async function seedEarlierTasks(
  kafka: Kafka,
  config: WorkerRuntimeConfig,
  template: TaskTemplate,
  count: number,
  ageMs: number,
  parts: { readonly documents: boolean; readonly changelogs: boolean; readonly skip?: ReadonlySet<string> },
  log: (line: string) => void,
): Promise<SeedReport> {
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: count }, (_, i) => earlierTaskId(run, i));
  const client = new MongoClient(config.mongoUrl);
  await client.connect();
  const documents = new Map<string, number>();
  const place = sharedLogPlaces(template);
  // Each copy's fresh generated ids, the same in all its documents (so its links hold).
  const fresh = ids.map(() => new Map(template.links.map((old) => [old, randomUUID()])));
  const mongoStart = performance.now();
  try {
    const db = client.db(config.mongoDb);
    for (const [name, texts] of parts.documents ? template.documents : new Map<string, string[]>()) {
      if (parts.skip?.has(name) === true) continue;
      const started = performance.now();
      let bulk: Document[] = [];
      let written = 0;
      for (let i = 0; i < ids.length; i++) {
        for (const text of texts) bulk.push(cloneDocument(text, template, ids[i]!, fresh[i]!, i, ageMs, place));
        if (bulk.length >= INSERT_BULK || i === ids.length - 1) {
          await db.collection(name).insertMany(bulk, { ordered: false });
          written += bulk.length;
          bulk = [];
        }
      }
      documents.set(name, written);
      const s = (performance.now() - started) / 1000;
      log(`  seeded ${name}: ${written} documents in ${s.toFixed(1)} s (${(written / s).toFixed(0)} documents/s)`);
    }
  } finally {
    await client.close();
  }
  const mongoMs = performance.now() - mongoStart;
  const records = new Map<string, number>();
  const kafkaStart = performance.now();
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const [worker, c] of parts.changelogs ? template.changelogs : new Map<string, never>()) {
      const topic = `${config.topicPrefix}.${worker}${changelogSuffix}`;
      await ensureTopics(admin, [topic], { partitions: c.partitions, configs: stateChangelogConfig });
      let messages: Array<{ key: string; value: string | null }> = [];
      let bytes = 0;
      let written = 0;
      const send = async (): Promise<void> => {
        // Keyed by task id with the default partitioner: the partition the task's events go to, as the worker writes.
        if (messages.length > 0) await producer.send({ topic, acks: -1, messages });
        written += messages.length;
        messages = [];
        bytes = 0;
      };
      // The generated ids each record holds (found once: a planner's record is tens of kilobytes).
      const linksIn = c.values.map((v) => (v === null ? [] : template.links.filter((l) => v.includes(l))));
      for (const [i, id] of ids.entries()) {
        const copy = (v: string, j: number): string => {
          let out = v.replaceAll(template.taskId, id);
          for (const old of linksIn[j]!) out = out.replaceAll(old, fresh[i]!.get(old)!);
          return out;
        };
        const mine = c.values.map((v, j) => ({ key: id, value: v === null ? null : copy(v, j) }));
        const size = mine.reduce((n, m) => n + m.key.length + (m.value?.length ?? 0), 0);
        // A request stays under the broker's message.max.bytes (a planner's task state is tens of kilobytes).
        if (messages.length >= PRODUCE_BULK || bytes + size > MAX_REQUEST_BYTES) await send();
        messages.push(...mine);
        bytes += size;
      }
      await send();
      records.set(worker, written);
      log(`  seeded ${topic}: ${written} records`);
    }
    if (parts.changelogs && template.tenantBudgets !== undefined) {
      const written = await seedTenantBudgets(producer, admin, config, template.tenantBudgets, count);
      records.set('tenant-budgets', written);
      log(`  seeded ${tenantBudgetTopic(config.topicPrefix)}: ${written} records`);
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  return { tasks: count, documents, records, mongoMs, kafkaMs: performance.now() - kafkaStart };
}

/** The tenant budget log's partitions and the tenants it holds records of; undefined when the run wrote none. */
async function tenantsOfBudgetLog(
  kafka: Kafka,
  config: WorkerRuntimeConfig,
): Promise<TaskTemplate['tenantBudgets'] | undefined> {
  const topic = tenantBudgetTopic(config.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const tenantIds = new Set<string>();
    const notAnEvent = { decode: () => Promise.reject(new Error('a budget record')) };
    await readTopics({ kafka, codec: notAnEvent as never }, [topic], {
      follow: false,
      onMessage: (m) => void tenantIds.add(m.message.key?.toString() ?? ''),
    });
    tenantIds.delete('');
    return tenantIds.size === 0
      ? undefined
      : { partitions: meta.topics[0]!.partitions.length, tenantIds: [...tenantIds] };
  } finally {
    await admin.disconnect();
  }
}

/**
 * What `count` earlier tasks left in the tenant budget log, over-counted: one allowance taken and given back per task
 * (the planner takes one about every ten model calls at the default sizes, three per bench task), charged one token
 * each so that no tenant's limit is reached. A starting planner folds them all before its first take.
 */
async function seedTenantBudgets(
  producer: Producer,
  admin: Admin,
  config: WorkerRuntimeConfig,
  budgets: NonNullable<TaskTemplate['tenantBudgets']>,
  count: number,
): Promise<number> {
  const topic = tenantBudgetTopic(config.topicPrefix);
  await ensureTopics(admin, [topic], { partitions: budgets.partitions, configs: tenantBudgetTopicConfig });
  const one = { tokens: 1, microUsd: 1 };
  const limit = { tokens: Number.MAX_SAFE_INTEGER, microUsd: Number.MAX_SAFE_INTEGER };
  let written = 0;
  for (let i = 0; i < count; i += PRODUCE_BULK / 2) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + PRODUCE_BULK / 2); j++) {
      const key = budgets.tenantIds[j % budgets.tenantIds.length]!;
      const lease = randomUUID();
      const take: TenantBudgetRecord = { k: 'take', lease, min: one, want: one, limit, ttlMs: 30 * 60_000 };
      const give: TenantBudgetRecord = { k: 'give', lease, used: one };
      messages.push({ key, value: JSON.stringify(take) }, { key, value: JSON.stringify(give) });
    }
    await producer.send({ topic, acks: -1, messages });
    written += messages.length;
  }
  return written;
}

/**
 * Drops what a seeded run left on the shared stack: its database and its topics (`<prefix>.*`), which at 100,000
 * earlier tasks hold gigabytes. Returns what it dropped.
 */
export async function dropSeeded(kafka: Kafka, config: WorkerRuntimeConfig): Promise<string> {
  const client = new MongoClient(config.mongoUrl);
  await client.connect();
  try {
    await client.db(config.mongoDb).dropDatabase();
  } finally {
    await client.close();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.topicPrefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    return `database ${config.mongoDb} and ${topics.length} topics ${config.topicPrefix}.*`;
  } finally {
    await admin.disconnect();
  }
}
