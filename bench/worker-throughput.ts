/**
 * Runtime bench: events per second through a no-op worker (consume, decode + validate, handle, encode + produce
 * and commit the offsets in one Kafka transaction per chunk), as a ratio to raw kafkajs consume-and-produce of the same messages, in the same run.
 * Target: ratio >= 0.5. Needs the stack: npm run stack -- up; then npm run bench -- worker
 */
import { follow, newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
  connectRuntime,
  createKafka,
  defineWorker,
  ensureTopics,
  producerConfig,
  sendAll,
  type OutgoingMessage,
} from '@warden/runtime';
import { startTestPublisher, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { pino } from 'pino';
import { benchEndpoints, target } from './support.js';
import { benchSetting } from './config.js';

const N = benchSetting('BENCH_EVENTS', 20_000);
const noopAnswer = {
  answer: 'ok',
  totals: { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
};
const endpoints = benchEndpoints();
const config = testWorkerConfig(endpoints, { concurrency: 3, batchSize: 500, logLevel: 'error' });
const tasksTopic = `${config.topicPrefix}.tasks.v1`;
const rawOut = `${config.topicPrefix}.raw-out`;
console.log(
  `worker bench: ${N} events, 3 partitions, acks=all; raw: idempotent producer; worker: a transaction per chunk, Node ${process.version}`,
);

// Same input for both: N encoded TaskSubmitted events on the tasks topic.
const publisher = await startTestPublisher(config);
const kafka = createKafka(config.brokers, 'bench', pino({ level: 'error' }));
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
async function rawRun(): Promise<number> {
  const producer = kafka.producer(producerConfig);
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.raw` });
  await consumer.connect();
  await consumer.subscribe({ topic: tasksTopic, fromBeginning: true });
  let seen = 0;
  let started = 0;
  await consumer.run({
    partitionsConsumedConcurrently: config.concurrency,
    eachBatch: async ({ batch }) => {
      if (started === 0) started = performance.now();
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
  await waitUntil(async () => seen >= N && (await written(rawOut)) >= N, {
    timeoutMs: 300_000,
    intervalMs: 10,
    what: 'raw consume-produce',
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return N / seconds;
}

async function workerRun(): Promise<number> {
  let handled = 0;
  let started = 0;
  const worker = defineWorker({
    name: 'noop',
    consumes: ['TaskSubmitted'],
    config,
    handlers: {
      TaskSubmitted: async (_event, ctx) => {
        if (started === 0) started = performance.now();
        await ctx.publish('TaskCompleted', noopAnswer);
        handled++;
      },
    },
  });
  await worker.start();
  // Done when every input's transaction has committed (outputs and offsets land together). The output topic's
  // high watermark would overcount: transaction markers take offsets too.
  await waitUntil(async () => handled >= N && (await committed(`${config.topicPrefix}.noop`, tasksTopic)) >= N, {
    timeoutMs: 300_000,
    intervalMs: 10,
    what: 'worker transactions',
  });
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  return N / seconds;
}

const raw = await rawRun();
console.log(`raw kafkajs consume+produce        ${raw.toFixed(0).padStart(8)} events/s`);
const worker = await workerRun();
console.log(`warden no-op worker                ${worker.toFixed(0).padStart(8)} events/s`);
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
console.log(
  `codec alone (decode+validate+hash, chain, encode) ${codecUs.toFixed(1)} us/event = ${(1e6 / codecUs).toFixed(0)} events/s on one thread; raw kafkajs spends ${(1e6 / raw).toFixed(1)} us/event in all`,
);
const ratio = worker / raw;
console.log(`ratio worker / raw: ${ratio.toFixed(2)}`);
target('worker throughput >= 0.5 x raw kafkajs', ratio >= 0.5, `${ratio.toFixed(2)}`);
await offsetsAdmin.disconnect();
process.exit(0);
