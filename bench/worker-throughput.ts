/**
 * Runtime bench: events per second through a no-op worker (consume, decode + validate, handle, encode + produce,
 * outbox, commit), as a ratio to raw kafkajs consume-and-produce of the same messages, in the same run.
 * Target: ratio >= 0.5. Needs the stack: npm run stack -- up; then npm run bench -- worker
 */
import { newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
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

const N = benchSetting('BENCH_EVENTS', 5000);
const endpoints = benchEndpoints();
const config = testWorkerConfig(endpoints, { concurrency: 3, batchSize: 500, logLevel: 'error' });
const tasksTopic = `${config.topicPrefix}.tasks.v1`;
const rawOut = `${config.topicPrefix}.raw-out`;
console.log(`worker bench: ${N} events, 3 partitions, acks=all, idempotent producer, Node ${process.version}`);

// Same input for both: N encoded TaskSubmitted events on the tasks topic.
const publisher = await startTestPublisher(config);
const kafka = createKafka(config.brokers, 'bench', pino({ level: 'error' }));
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [tasksTopic, rawOut, `${config.topicPrefix}.outcomes.v1`]);
await admin.disconnect();
const offsetsAdmin = kafka.admin();
await offsetsAdmin.connect();
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
    intervalMs: 5,
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
        await ctx.publish('TaskCompleted', {
          answer: 'ok',
          totals: { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
        });
        handled++;
      },
    },
  });
  await worker.start();
  const outcomes = `${config.topicPrefix}.outcomes.v1`;
  await waitUntil(async () => handled >= N && (await written(outcomes)) >= N, {
    timeoutMs: 300_000,
    intervalMs: 5,
    what: 'worker outputs',
  });
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  return N / seconds;
}

const raw = await rawRun();
console.log(`raw kafkajs consume+produce        ${raw.toFixed(0).padStart(8)} events/s`);
const worker = await workerRun();
console.log(`warden no-op worker                ${worker.toFixed(0).padStart(8)} events/s`);
const ratio = worker / raw;
console.log(`ratio worker / raw: ${ratio.toFixed(2)}`);
target('worker throughput >= 0.5 x raw kafkajs', ratio >= 0.5, `${ratio.toFixed(2)}`);
await offsetsAdmin.disconnect();
process.exit(0);
