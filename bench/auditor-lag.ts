/**
 * Auditor projection lag and capacity (issue 17: at 1,000 events/s, lag p50 <= 50 ms and p99 <= 250 ms; the
 * projection's sustained capacity reported).
 *
 * 1. Lag: events are produced at a steady rate (BENCH_RATE events/s, default 1,000, for BENCH_SECONDS, default 10) as
 *    chains of interleaved tasks; for each event, lag = the moment its chunk is projected (its event documents
 *    inserted into MongoDB, its chain checked, its alerts raised) minus the moment it was sent (acks=all).
 * 2. Capacity: BENCH_CAPACITY_EVENTS (default 20,000) events of new tasks are produced as fast as the producer goes
 *    (all sent before the clock starts counting projection), then projected events/s from the first send to the
 *    last event projected, and the task summaries' catch-up (audit_tasks reflects every task).
 * Baseline in the same run: the lag of a plain kafkajs consumer that only reads the same bytes at the same rate.
 * The MongoDB commands the auditor sends are timed (driver command monitoring) and printed per command and collection:
 * where the milliseconds go. Needs the stack: npm run stack -- up.
 */
import { follow, newTask, type EncodedEvent, type EventCodec } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { DEFAULT_TASK_FLUSH_MS, createAuditor } from '@warden/auditor';
import { connectRuntime, ensureTopics, producerConfig, sendAll, toOutgoing } from '@warden/runtime';
import { testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { MongoClient, type CommandStartedEvent, type CommandSucceededEvent } from 'mongodb';
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { benchEndpoints, percentile, target } from './support.js';
import { benchSetting } from './config.js';

const RATE = benchSetting('BENCH_RATE', 1_000);
const SECONDS = benchSetting('BENCH_SECONDS', 10);
const CAPACITY_EVENTS = benchSetting('BENCH_CAPACITY_EVENTS', 20_000);
/** The auditor's AUDITOR_TASK_FLUSH_MS (a long one shows what the event projection costs without the summaries). */
const TASK_FLUSH_MS = benchSetting('BENCH_TASK_FLUSH_MS', DEFAULT_TASK_FLUSH_MS);
/** Issue 17's target lines. */
const TARGET_P50_MS = 50;
const TARGET_P99_MS = 250;
const TARGET_RATE = 1_000;
const STEPS = 8;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const endpoints = benchEndpoints();
const runtime = testWorkerConfig(endpoints, { logLevel: 'error' });
const deps0 = await connectRuntime('bench-auditor-lag', runtime, pino({ level: 'error' }));
await deps0.codec.registerAll();

// The auditor's MongoDB client with command monitoring: each command's duration by name and collection.
const mongo = new MongoClient(runtime.mongoUrl, { monitorCommands: true });
await mongo.connect();
const deps = { ...deps0, mongo, db: mongo.db(runtime.mongoDb) };
const started = new Map<number, { name: string; coll: string }>();
const mongoMs = new Map<string, { n: number; ms: number }>();
mongo.on('commandStarted', (e: CommandStartedEvent) => {
  const coll = e.command[e.commandName] as unknown;
  started.set(e.requestId, { name: e.commandName, coll: typeof coll === 'string' ? coll : '' });
});
mongo.on('commandSucceeded', (e: CommandSucceededEvent) => {
  const s = started.get(e.requestId);
  started.delete(e.requestId);
  if (s === undefined) return;
  const key = `${s.name} ${s.coll}`;
  const t = mongoMs.get(key) ?? { n: 0, ms: 0 };
  t.n += 1;
  t.ms += e.duration;
  mongoMs.set(key, t);
});
const printMongo = (label: string, wallMs: number): void => {
  const rows = [...mongoMs.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`  MongoDB commands during ${label} (${(wallMs / 1000).toFixed(1)} s of wall time):`);
  for (const [key, t] of rows.slice(0, 8)) {
    console.log(
      `    ${key.padEnd(36)} ${String(t.n).padStart(6)} calls  ${t.ms.toFixed(0).padStart(7)} ms total  ${(t.ms / t.n).toFixed(2).padStart(7)} ms each`,
    );
  }
  mongoMs.clear();
};

/** Chains of STEPS events for `count` tasks, interleaved round-robin (step 0 of every task, then step 1, ...). */
async function interleaved(codec: EventCodec, prefix: string, events: number): Promise<EncodedEvent[]> {
  const tasks = Math.ceil(events / STEPS);
  const chains: EncodedEvent[][] = [];
  for (let t = 0; t < tasks; t++) {
    const chain = [
      await codec.encode(newTask(sampleTask(), { tenantId: 'tenant-a', taskId: `${prefix}-${t}`, producer: 'bench' })),
    ];
    for (let s = 1; s < STEPS; s++) {
      chain.push(
        await codec.encode(
          follow(
            chain.at(-1)!,
            'ToolSucceeded',
            {
              actionId: `a${s}`,
              tool: 'customers.query',
              effectKey: `${prefix}-${t}:a${s}`,
              result: { rows: [{ id: s }] },
              durationMs: 1,
            },
            { producer: 'bench' },
          ),
        ),
      );
    }
    chains.push(chain);
  }
  const order: EncodedEvent[] = [];
  for (let s = 0; s < STEPS; s++) for (const c of chains) if (c[s] !== undefined) order.push(c[s]!);
  return order.slice(0, events);
}

const events = await interleaved(deps.codec, 'lag', RATE * SECONDS);
const capacityEvents = await interleaved(deps.codec, 'cap', CAPACITY_EVENTS);

const producedAt = new Map<string, number>();
const projectedLagMs: number[] = [];
let projected = 0;
let lastProjectedAt = 0;
const auditor = createAuditor({
  deps,
  config: {
    runtime,
    apiKeys: [{ tenantId: 'tenant-a', key: 'bench-key-0123456789' }],
    apiPort: 0,
    apiHost: '127.0.0.1',
    checkpointKey: 'bench-checkpoint-key-0123456789abcdef',
    checkpointIntervalMs: 3_600_000,
    settleMs: 1_000,
    maxTasksInMemory: 100_000,
    taskFlushMs: TASK_FLUSH_MS,
  },
  onProjected: (inputs) => {
    const now = performance.now();
    lastProjectedAt = now;
    projected += inputs.length;
    for (const i of inputs) {
      const at = producedAt.get(i.decoded.envelope.id);
      if (at !== undefined) projectedLagMs.push(now - at);
    }
  },
});
await auditor.start();
const producer = deps.kafka.producer(producerConfig);
await producer.connect();
console.log(
  `auditor lag bench: ${events.length} events at ${RATE}/s for ${SECONDS}s (${Math.ceil(events.length / STEPS)} tasks of ${STEPS}), then ${capacityEvents.length} as fast as possible; Node ${process.version}; load average ${load()}`,
);

const tickMs = 50;
const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
mongoMs.clear();
const lagStart = performance.now();
for (let i = 0; i < events.length; i += perTick) {
  const slice = events.slice(i, i + perTick);
  await sendAll(
    producer,
    slice.map((e) => toOutgoing(e, deps.topics)),
  );
  const acked = performance.now();
  for (const e of slice) producedAt.set(e.envelope.id, acked);
  const wait = lagStart + ((i + perTick) / RATE) * 1000 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
const sentFor = performance.now() - lagStart;
let lastReport = performance.now();
await waitUntil(
  () => {
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      console.log(`  ... ${projectedLagMs.length}/${events.length} projected`);
    }
    return projectedLagMs.length >= events.length;
  },
  { timeoutMs: 600_000, intervalMs: 20, what: 'all events projected' },
);
const p50 = percentile(projectedLagMs, 50);
const p99 = percentile(projectedLagMs, 99);
console.log(
  `projection lag at ${RATE}/s (sent in ${(sentFor / 1000).toFixed(1)} s): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...projectedLagMs).toFixed(1)} ms; load average ${load()}`,
);
printMongo('the lag phase', performance.now() - lagStart);

// Capacity: everything sent at once, projected events/s from the first send to the last projection.
await new Promise((r) => setTimeout(r, 1_000));
const before = projected;
const capStart = performance.now();
for (let i = 0; i < capacityEvents.length; i += 1_000) {
  await sendAll(
    producer,
    capacityEvents.slice(i, i + 1_000).map((e) => toOutgoing(e, deps.topics)),
  );
}
const capSent = performance.now() - capStart;
await waitUntil(
  () => {
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      console.log(`  ... ${projected - before}/${capacityEvents.length} projected`);
    }
    return projected - before >= capacityEvents.length;
  },
  { timeoutMs: 900_000, intervalMs: 20, what: 'the capacity events projected' },
);
const capMs = lastProjectedAt - capStart;
const capacity = (capacityEvents.length / capMs) * 1000;
console.log(
  `capacity: ${capacityEvents.length} events (${Math.ceil(capacityEvents.length / STEPS)} tasks) sent in ${(capSent / 1000).toFixed(1)} s, projected in ${(capMs / 1000).toFixed(1)} s: ${capacity.toFixed(0)} events/s; load average ${load()}`,
);
const tasksTotal = Math.ceil(events.length / STEPS) + Math.ceil(capacityEvents.length / STEPS);
const store = auditor.store();
if (TASK_FLUSH_MS > DEFAULT_TASK_FLUSH_MS) await auditor.tick(); // writes the summaries now
await waitUntil(async () => (await store.tasks.countDocuments({ eventCount: STEPS })) >= tasksTotal, {
  timeoutMs: 900_000,
  intervalMs: 5_000, // a count scans audit_tasks on FerretDB: not often, or it competes with the writer it waits for
  what: 'every task summary written',
});
const summariesMs = performance.now() - capStart;
console.log(
  `task summaries: all ${tasksTotal} up to date in audit_tasks ${((summariesMs - capMs) / 1000).toFixed(1)} s after the last event was projected`,
);
printMongo('the capacity phase', summariesMs);

// Baseline: a plain consumer reading the same bytes on a topic of its own (read latency only, no projection).
const readLagMs: number[] = [];
const baselineTopic = `${runtime.topicPrefix}.bench-baseline`;
const admin = deps.kafka.admin();
await admin.connect();
await ensureTopics(admin, [baselineTopic]);
await admin.disconnect();
const baseline = deps.kafka.consumer({ groupId: `${runtime.topicPrefix}.bench-baseline` });
await baseline.connect();
await baseline.subscribe({ topics: [baselineTopic], fromBeginning: true });
const sentAt = new Map<string, number>();
await baseline.run({
  eachMessage: ({ message }) => {
    const at = sentAt.get(String(message.key));
    if (at !== undefined) readLagMs.push(performance.now() - at);
    return Promise.resolve();
  },
});
const again = events.slice(0, Math.min(events.length, RATE * 3)); // 3 s of the same traffic
const bStart = performance.now();
for (let i = 0; i < again.length; i += perTick) {
  const slice = again
    .slice(i, i + perTick)
    .map((e, j) => ({ topic: baselineTopic, key: `b-${i + j}`, value: e.bytes, headers: {} }));
  const sent = performance.now();
  for (const m of slice) sentAt.set(m.key, sent);
  await sendAll(producer, slice);
  const wait = bStart + ((i + perTick) / RATE) * 1000 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await waitUntil(() => readLagMs.length >= again.length, { timeoutMs: 60_000, intervalMs: 20, what: 'baseline reads' });
const b50 = percentile(readLagMs, 50);
const b99 = percentile(readLagMs, 99);
console.log(`baseline (plain consumer read lag at ${RATE}/s): p50 ${b50.toFixed(1)} ms, p99 ${b99.toFixed(1)} ms`);
console.log(`ratio projection/baseline: p50 ${(p50 / b50).toFixed(1)}x, p99 ${(p99 / b99).toFixed(1)}x`);
const atTarget = RATE >= TARGET_RATE;
target(`lag p50 <= ${TARGET_P50_MS} ms at ${RATE}/s`, atTarget && p50 <= TARGET_P50_MS, `${p50.toFixed(1)} ms`);
target(`lag p99 <= ${TARGET_P99_MS} ms at ${RATE}/s`, atTarget && p99 <= TARGET_P99_MS, `${p99.toFixed(1)} ms`);
target(`capacity >= ${TARGET_RATE} events/s`, capacity >= TARGET_RATE, `${capacity.toFixed(0)} events/s`);
if (!atTarget) console.log(`(the targets are at ${TARGET_RATE}/s; this run was at ${RATE}/s)`);
await baseline.disconnect();
await producer.disconnect();
await auditor.close();
await mongo.close();
await deps0.mongo.close();
process.exit(0);
