/**
 * Runtime bench: events per second through a no-op worker (consume, decode + validate, handle, encode + produce
 * and commit the offsets in one Kafka transaction per chunk), against two baselines measured in the same run over the
 * same messages: raw kafkajs consume-and-produce (idempotent, no transactions), and the same delivery work done by hand
 * (a kafkajs transactional consume-transform-produce: a transactional producer per partition, each fetch's messages
 * re-produced with their headers in transactions of up to WARDEN_BATCH_SIZE's default, the offsets in the
 * transaction; no decoding, validation or chaining).
 * Targets: worker >= 0.5 x raw (the original target) and >= 0.8 x by hand (issue 17).
 * Needs the stack: npm run stack -- up; then npm run bench -- worker
 */
import { follow, newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
  DEFAULT_BATCH_SIZE,
  connectRuntime,
  createKafka,
  defineWorker,
  ensureTopics,
  producerConfig,
  sendAll,
  type OutgoingMessage,
} from '@warden/runtime';
import { startTestPublisher, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { benchEndpoints, target } from './support.js';
import { benchChoice, benchPath, benchSetting } from './config.js';
import { Session } from 'node:inspector/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const N = benchSetting('BENCH_EVENTS', 20_000);
/** Rounds of raw then worker, each on a fresh consumer group over the same input; the ratio reported is the median. */
const ROUNDS = benchSetting('BENCH_ROUNDS', 3);
/**
 * BENCH_PROFILE=<prefix>: writes CPU profiles of the measured part of the first round's runs, <prefix>-raw.cpuprofile
 * and <prefix>-worker.cpuprofile (open them in Chrome DevTools).
 */
const profilePrefix = benchPath('BENCH_PROFILE');
const profiler = new Session();
if (profilePrefix !== undefined) {
  profiler.connect();
  await profiler.post('Profiler.enable');
}
/** Starts profiling (first round only); called as a run's measurement starts (the session dispatches synchronously). */
let profiling = false;
const profileStart = (round: number): void => {
  if (profilePrefix === undefined || round > 0) return;
  profiling = true;
  void profiler.post('Profiler.start');
};
async function profileStop(run: string): Promise<void> {
  if (!profiling) return;
  profiling = false;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(`${profilePrefix}-${run}.cpuprofile`, JSON.stringify(profile));
  console.log(`CPU profile of the ${run} run written to ${profilePrefix}-${run}.cpuprofile`);
}
const noopAnswer = {
  answer: 'ok',
  totals: { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
};
const endpoints = benchEndpoints();
/** The worker's kafkajs coordinator lookups (ADR 0036): per transaction (as deployed) or kafkajs's own, for an A/B. */
const COORDINATOR_LOOKUPS = benchChoice(
  'BENCH_COORDINATOR_LOOKUPS',
  ['per-transaction', 'kafkajs'] as const,
  'per-transaction',
);
const config = testWorkerConfig(endpoints, {
  concurrency: 3,
  logLevel: 'error',
  coordinatorLookups: COORDINATOR_LOOKUPS,
});
const tasksTopic = `${config.topicPrefix}.tasks.v1`;
const rawOut = `${config.topicPrefix}.raw-out`;
console.log(
  `worker bench: ${N} events, 3 partitions, acks=all, ${ROUNDS} rounds; raw: idempotent producer; worker: a transaction per chunk (coordinator lookups: ${COORDINATOR_LOOKUPS}), Node ${process.version}`,
);

// Same input for both: N encoded TaskSubmitted events on the tasks topic.
const publisher = await startTestPublisher(config);
const kafka = createKafka(config.brokers, 'bench', pino({ level: 'error' }), config.kafkaSecurity);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [tasksTopic, rawOut, `${config.topicPrefix}.outcomes.v1`]);
await admin.disconnect();
const offsetsAdmin = kafka.admin();
await offsetsAdmin.connect();
/** Offsets a consumer group has committed on a topic (sum over partitions). */
async function committed(groupId: string, topic: string): Promise<number> {
  const [offsets] = await offsetsAdmin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}
/** Messages written to a topic so far (sum of partition high watermarks). */
async function written(topic: string): Promise<number> {
  const offsets = await offsetsAdmin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}
const drafts = Array.from({ length: N }, (_, i) =>
  newTask(sampleTask(), { tenantId: 'tenant-a', taskId: `bench-${i}`, producer: 'bench' }),
);
for (let i = 0; i < N; i += 1000) await publisher.publish(...drafts.slice(i, i + 1000));
await publisher.close();

// Baseline: raw kafkajs, batch consume and re-produce the same bytes with the same producer settings.
/** Events per second, the share of one core this process used, and the cores the whole machine used meanwhile. */
interface RunFigures {
  readonly perSecond: number;
  readonly cpu: number;
  readonly machineCores: number | undefined;
}

/** Busy and total CPU ticks of the whole machine so far, and its core count (Linux /proc/stat; else undefined). */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((x, y) => x + y, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** Measures one run from the moment it is created: wall time, this process's CPU and the machine's. */
class Meter {
  private readonly t0 = performance.now();
  private readonly cpu0 = process.cpuUsage();
  private readonly machine0 = machineTicks();

  stop(events: number): RunFigures {
    const ms = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    const machine1 = machineTicks();
    const m0 = this.machine0;
    return {
      perSecond: events / (ms / 1000),
      cpu: (cpu.user + cpu.system) / 1000 / ms,
      machineCores:
        m0 === undefined || machine1 === undefined
          ? undefined
          : ((machine1.busy - m0.busy) / (machine1.total - m0.total)) * availableParallelism(),
    };
  }
}

async function rawRun(round: number): Promise<RunFigures> {
  const before = await written(rawOut);
  const producer = kafka.producer(producerConfig);
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.raw-${round}` });
  await consumer.connect();
  await consumer.subscribe({ topic: tasksTopic, fromBeginning: true });
  let seen = 0;
  let meter: Meter | undefined;
  await consumer.run({
    partitionsConsumedConcurrently: config.concurrency,
    eachBatch: async ({ batch }) => {
      if (meter === undefined) {
        meter = new Meter();
        profileStart(round);
      }
      const out: OutgoingMessage[] = batch.messages.map((m) => ({
        topic: rawOut,
        key: String(m.key),
        value: m.value ?? Buffer.alloc(0),
        headers: {},
      }));
      await sendAll(producer, out);
      seen += batch.messages.length;
    },
  });
  await waitUntil(async () => seen >= N && (await written(rawOut)) >= before + N, {
    timeoutMs: 300_000,
    intervalMs: 10,
    what: 'raw consume-produce',
  });
  const figures = meter!.stop(N);
  await profileStop('raw');
  await consumer.disconnect();
  await producer.disconnect();
  return figures;
}

/** The same delivery as the worker's, written by hand with kafkajs: transactions per partition, offsets inside. */
async function manualRun(round: number): Promise<RunFigures> {
  const groupId = `${config.topicPrefix}.manual-${round}`;
  const producers = new Map<number, Producer>();
  const producerOf = async (partition: number): Promise<Producer> => {
    let producer = producers.get(partition);
    if (producer === undefined) {
      producer = kafka.producer({ ...producerConfig, transactionalId: `${groupId}|${tasksTopic}|${partition}` });
      await producer.connect();
      producers.set(partition, producer);
    }
    return producer;
  };
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: tasksTopic, fromBeginning: true });
  let seen = 0;
  let meter: Meter | undefined;
  await consumer.run({
    partitionsConsumedConcurrently: config.concurrency,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (meter === undefined) {
        meter = new Meter();
        profileStart(round);
      }
      const producer = await producerOf(batch.partition);
      for (let i = 0; i < batch.messages.length; i += DEFAULT_BATCH_SIZE) {
        const chunk = batch.messages.slice(i, i + DEFAULT_BATCH_SIZE);
        const out: OutgoingMessage[] = chunk.map((m) => ({
          topic: rawOut,
          key: String(m.key),
          value: m.value ?? Buffer.alloc(0),
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }));
        const last = chunk.at(-1)!.offset;
        const txn = await producer.transaction();
        await sendAll(txn, out);
        await txn.sendOffsets({
          consumerGroupId: groupId,
          topics: [
            { topic: tasksTopic, partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }] },
          ],
        });
        await txn.commit();
        payload.resolveOffset(last);
        seen += chunk.length;
        await payload.heartbeat();
      }
    },
  });
  await waitUntil(async () => seen >= N && (await committed(groupId, tasksTopic)) >= N, {
    timeoutMs: 300_000,
    intervalMs: 10,
    what: 'hand-written transactional consume-produce',
  });
  const figures = meter!.stop(N);
  await profileStop('manual');
  await consumer.disconnect();
  for (const p of producers.values()) await p.disconnect();
  return figures;
}

async function workerRun(round: number): Promise<RunFigures> {
  let handled = 0;
  let meter: Meter | undefined;
  const worker = defineWorker({
    name: `noop-${round}`,
    consumes: ['TaskSubmitted'],
    config,
    handlers: {
      TaskSubmitted: async (_event, ctx) => {
        if (meter === undefined) {
          meter = new Meter();
          profileStart(round);
        }
        await ctx.publish('TaskCompleted', noopAnswer);
        handled++;
      },
    },
  });
  await worker.start();
  // Done when every input's transaction has committed (outputs and offsets land together). The output topic's
  // high watermark would overcount: transaction markers take offsets too.
  await waitUntil(
    async () => handled >= N && (await committed(`${config.topicPrefix}.noop-${round}`, tasksTopic)) >= N,
    {
      timeoutMs: 300_000,
      intervalMs: 10,
      what: 'worker transactions',
    },
  );
  const figures = meter!.stop(N);
  await profileStop('worker');
  await worker.close();
  return figures;
}

const show = (label: string, f: RunFigures): void =>
  console.log(
    `${label.padEnd(42)} ${f.perSecond.toFixed(0).padStart(8)} events/s, this process at ${(f.cpu * 100).toFixed(0)}% of a core` +
      (f.machineCores === undefined
        ? ''
        : `, the machine (broker too) at ${f.machineCores.toFixed(2)} of ${availableParallelism()} cores`),
  );
const ratios: number[] = [];
const manualRatios: number[] = [];
const rawRates: number[] = [];
const manualRates: number[] = [];
/** The middle value (the upper one of an even count). */
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (let round = 0; round < ROUNDS; round++) {
  const rawFigures = await rawRun(round);
  show(`round ${round + 1}: raw kafkajs consume+produce`, rawFigures);
  const manualFigures = await manualRun(round);
  show(`round ${round + 1}: by hand, transactional`, manualFigures);
  const workerFigures = await workerRun(round);
  show(`round ${round + 1}: warden no-op worker`, workerFigures);
  rawRates.push(rawFigures.perSecond);
  manualRates.push(manualFigures.perSecond);
  ratios.push(workerFigures.perSecond / rawFigures.perSecond);
  manualRatios.push(workerFigures.perSecond / manualFigures.perSecond);
  console.log(
    `round ${round + 1}: ratio worker / raw ${ratios.at(-1)!.toFixed(2)}, worker / by hand ${manualRatios.at(-1)!.toFixed(2)}`,
  );
}
// Where the time goes: the contracts work alone (decode + validate + hash the input, chain and encode the output),
// with no Kafka, on the same events. Its inverse bounds the worker on one thread.
const codecRun = async (): Promise<number> => {
  const deps = await connectRuntime('bench-codec', config);
  const encoded = await Promise.all(drafts.slice(0, 5000).map((d) => deps.codec.encode(d)));
  let t0 = 0;
  for (let round = 0; round < 2; round++) {
    t0 = performance.now();
    for (const e of encoded) {
      const decoded = await deps.codec.decode(e.bytes);
      await deps.codec.encode(follow(decoded, 'TaskCompleted', noopAnswer, { producer: 'bench' }));
    }
  }
  const perEvent = ((performance.now() - t0) * 1000) / encoded.length;
  await deps.mongo.close();
  return perEvent;
};
const codecUs = await codecRun();
const raw = median(rawRates);
console.log(
  `codec alone (decode+validate+hash, chain, encode) ${codecUs.toFixed(1)} us/event = ${(1e6 / codecUs).toFixed(0)} events/s on one thread; raw kafkajs spends ${(1e6 / raw).toFixed(1)} us/event in all (median round)`,
);
const ratio = median(ratios);
// A worker does all raw kafkajs does and the codec's work on the same thread, so even if nothing else cost anything
// its ratio could not pass this.
const rawUs = 1e6 / raw;
console.log(
  `one-thread ceiling (raw alone / (raw + codec), nothing else counted): ${(rawUs / (rawUs + codecUs)).toFixed(2)}`,
);
const sorted = [...ratios].sort((a, b) => a - b);
console.log(
  `ratio worker / raw: ${ratio.toFixed(2)} (median of ${ROUNDS}; ${sorted.map((r) => r.toFixed(2)).join(', ')})`,
);
target('worker throughput >= 0.5 x raw kafkajs', ratio >= 0.5, `${ratio.toFixed(2)}`);
// The by-hand delivery does no decoding, validation, hashing or chaining (nothing a worker may skip): the worker does
// all it does plus the codec's work on the same thread, so its ratio to it is bounded the same way.
const manualUs = 1e6 / median(manualRates);
console.log(
  `one-thread ceiling against by hand (by hand alone / (by hand + codec)): ${(manualUs / (manualUs + codecUs)).toFixed(2)} (by hand spends ${manualUs.toFixed(1)} us/event, median round)`,
);
const manualRatio = median(manualRatios);
console.log(
  `ratio worker / by hand: ${manualRatio.toFixed(2)} (median of ${ROUNDS}; ${[...manualRatios]
    .sort((a, b) => a - b)
    .map((r) => r.toFixed(2))
    .join(', ')})`,
);
target('worker throughput >= 0.8 x the same delivery by hand', manualRatio >= 0.8, `${manualRatio.toFixed(2)}`);
await offsetsAdmin.disconnect();
process.exit(0);
