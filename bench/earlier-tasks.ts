/**
 * What earlier tasks leave behind, for agent-step's BENCH_EARLIER_TASKS run (issue 17: "the same bench after 100,000
 * earlier tasks: per-hop latency within 10% of the run with none"). Running that many tasks through the pipeline
 * takes hours here, so a finished task of a first run is taken as the template of what one task leaves: every
 * document of the run's database that names it (whatever collections the workers write: the executor's ledger, the
 * planner's task store and budget log, the escalation service's records, the tools' own records) and every record
 * its id keys on the workers' state changelogs (`<prefix>.<worker>-state.v1`: values and tombstones, as written).
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
import { randomBytes } from 'node:crypto';
import {
  MAX_REQUEST_BYTES,
  ensureTopics,
  readTopics,
  stateChangelogConfig,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import type { Kafka } from 'kafkajs';
import { BSON, MongoClient, ObjectId, type Db, type Document } from 'mongodb';

const { EJSON } = BSON;

/** Collections that hold the pipeline's fixtures rather than what a task leaves (never copied). */
const FIXTURE_COLLECTIONS: ReadonlySet<string> = new Set(['customers']);
/** A state changelog's name: `<prefix>.<worker>-state.v1`. */
const changelogSuffix = '-state.v1';
/** Documents per insertMany, and changelog records per produce request. */
const INSERT_BULK = 1_000;
const PRODUCE_BULK = 2_000;

/** One task's leavings. */
export interface TaskTemplate {
  readonly taskId: string;
  /** Collection name -> the task's documents, as EJSON text (so ObjectIds and Dates survive the copy). */
  readonly documents: ReadonlyMap<string, readonly string[]>;
  /** Worker name -> the task's changelog records in order (null: a tombstone), and the changelog's partitions. */
  readonly changelogs: ReadonlyMap<string, { partitions: number; values: ReadonlyArray<string | null> }>;
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
): Promise<TaskTemplate> {
  const documents = new Map<string, string[]>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (FIXTURE_COLLECTIONS.has(name) || name.startsWith('system.')) continue;
    const mine = (await db.collection(name).find({}).toArray())
      .map((d) => EJSON.stringify(d, { relaxed: false }))
      .filter((text) => text.includes(taskId));
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
  return { taskId, documents, changelogs };
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
 * A document of the template, made the document of task `newId`: its id replaced wherever it appears, its dates
 * moved `ageMs` into the past.
 */
function cloneDocument(text: string, templateId: string, newId: string, i: number, ageMs: number): Document {
  const doc = age(EJSON.parse(text.replaceAll(templateId, newId), { relaxed: false }), ageMs) as Document;
  // An _id that does not name the task (a generated one) is made unique per copy.
  const id: unknown = doc._id;
  if (id instanceof ObjectId) doc._id = new ObjectId();
  else if (typeof id === 'string' && !id.includes(newId)) doc._id = `${id}~${i}`;
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
  parts: { readonly documents: boolean; readonly changelogs: boolean },
  log: (line: string) => void,
): Promise<SeedReport> {
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: count }, (_, i) => earlierTaskId(run, i));
  const client = new MongoClient(config.mongoUrl);
  await client.connect();
  const documents = new Map<string, number>();
  const mongoStart = performance.now();
  try {
    const db = client.db(config.mongoDb);
    for (const [name, texts] of parts.documents ? template.documents : new Map<string, string[]>()) {
      const started = performance.now();
      let bulk: Document[] = [];
      let written = 0;
      for (let i = 0; i < ids.length; i++) {
        for (const text of texts) bulk.push(cloneDocument(text, template.taskId, ids[i]!, i, ageMs));
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
      for (const id of ids) {
        const mine = c.values.map((v) => ({ key: id, value: v === null ? null : v.replaceAll(template.taskId, id) }));
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
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  return { tasks: count, documents, records, mongoMs, kafkaMs: performance.now() - kafkaStart };
}
