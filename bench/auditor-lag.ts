/**
 * Auditor projection lag: events are produced at a steady rate (BENCH_RATE events/s for BENCH_SECONDS, as chains of
 * interleaved tasks); for each event, lag = the moment its batch is projected (written to MongoDB and its chain
 * checked) minus the moment it was sent (acks=all). Baseline in the same run: the lag of a plain kafkajs
 * consumer that only reads the same topics. Needs the stack: npm run stack -- up.
 */
import { follow, newTask, type EncodedEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createAuditor } from '@warden/auditor';
import { connectRuntime, ensureTopics, producerConfig, sendAll, toOutgoing } from '@warden/runtime';
import { testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { pino } from 'pino';
import { benchEndpoints, percentile } from './support.js';
import { benchSetting } from './config.js';

const RATE = benchSetting('BENCH_RATE', 200);
const SECONDS = benchSetting('BENCH_SECONDS', 10);
const STEPS = 8;
const endpoints = benchEndpoints();
const runtime = testWorkerConfig(endpoints, { logLevel: 'error' });
const deps = await connectRuntime('bench-auditor-lag', runtime, pino({ level: 'error' }));
await deps.codec.registerAll();

// Events prepared up front: tasks of STEPS events each, interleaved round-robin.
const total = RATE * SECONDS;
const tasks = Math.ceil(total / STEPS);
const chains: EncodedEvent[][] = [];
for (let t = 0; t < tasks; t++) {
  const chain = [
    await deps.codec.encode(newTask(sampleTask(), { tenantId: 'tenant-a', taskId: `lag-${t}`, producer: 'bench' })),
  ];
  for (let s = 1; s < STEPS; s++) {
    const prev = chain.at(-1)!;
    chain.push(
      await deps.codec.encode(
        follow(
          prev,
          'ToolSucceeded',
          {
            actionId: `a${s}`,
            tool: 'customers.query',
            effectKey: `lag-${t}:a${s}`,
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
const events = order.slice(0, total);

const producedAt = new Map<string, number>();
const projectedLagMs: number[] = [];
const auditor = createAuditor({
  config: {
    runtime,
    apiKeys: [{ tenantId: 'tenant-a', key: 'bench-key-0123456789' }],
    apiPort: 0,
    apiHost: '127.0.0.1',
    checkpointKey: 'bench-checkpoint-key-0123456789abcdef',
    checkpointIntervalMs: 3_600_000,
    settleMs: 1_000,
    maxTasksInMemory: 100_000,
  },
  onProjected: (inputs) => {
    const now = performance.now();
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
  `auditor lag bench: ${events.length} events at ${RATE}/s for ${SECONDS}s (${tasks} tasks of ${STEPS}), Node ${process.version}`,
);

const started = performance.now();
const tickMs = 50;
const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
for (let i = 0; i < events.length; i += perTick) {
  const slice = events.slice(i, i + perTick);
  await sendAll(
    producer,
    slice.map((e) => toOutgoing(e, deps.topics)),
  );
  const acked = performance.now();
  for (const e of slice) producedAt.set(e.envelope.id, acked);
  const next = started + ((i + perTick) / RATE) * 1000;
  const wait = next - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await waitUntil(() => projectedLagMs.length >= events.length, {
  timeoutMs: 300_000,
  intervalMs: 20,
  what: 'all events projected',
});
const p50 = percentile(projectedLagMs, 50);
const p99 = percentile(projectedLagMs, 99);
console.log(
  `projection lag: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...projectedLagMs).toFixed(1)} ms`,
);

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
console.log(`baseline (plain consumer read lag): p50 ${b50.toFixed(1)} ms, p99 ${b99.toFixed(1)} ms`);
console.log(`ratio projection/baseline: p50 ${(p50 / b50).toFixed(1)}x, p99 ${(p99 / b99).toFixed(1)}x`);
await baseline.disconnect();
await producer.disconnect();
await auditor.close();
await deps.mongo.close();
process.exit(0);
