/**
 * Guard bench through Kafka: proposal-to-verdict latency (publish an ActionProposed, the guard worker decodes,
 * judges and publishes its verdict, a consumer decodes it), against a baseline in the same run: the raw kafkajs
 * produce-to-consume round trip of the same bytes on the same broker. Needs the stack: npm run stack -- up.
 */
import { readFileSync } from 'node:fs';
import { follow, newTask } from '@warden/contracts';
import { sampleProposal, sampleTask } from '@warden/contracts/testing';
import { createGuardWorker } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { createKafka, ensureTopics, Topics } from '@warden/runtime';
import {
  EventCollector,
  readStateChangelog,
  startTestPublisher,
  testWorkerConfig,
  waitUntil,
} from '@warden/runtime/testing';
import { pino } from 'pino';
import { benchEndpoints, report } from './support.js';
import { benchSetting } from './config.js';

const N = benchSetting('BENCH_PROPOSALS', 200);
const endpoints = benchEndpoints();
const config = testWorkerConfig(endpoints, { logLevel: 'error' });
const guard = createGuardWorker({
  runtime: config,
  policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
  escalationTtlMs: 3_600_000,
});
await guard.start();
const publisher = await startTestPublisher(config);
const verdicts = await EventCollector.start(endpoints, [`${config.topicPrefix}.verdicts.v1`], config.mongoDb);
console.log(`guard kafka bench: ${N} proposals, one at a time, Node ${process.version}`);

// Tasks first (the guard records their scope), so that the loop measures judging, not the cross-topic race.
const tasks = [];
for (let i = 0; i < N + 20; i++) {
  const draft = newTask(sampleTask({ input: { customerId: 'c-42' } }), {
    tenantId: 'tenant-a',
    taskId: `bench-${i}`,
    producer: 'bench',
  });
  tasks.push((await publisher.publish(draft))[0]!);
}
// The guard keeps each task in its state (ADR 0027): recorded once its changelog holds every task.
const changelog = new Topics(config.topicPrefix).stateOf('guard');
const stateReader = createKafka(config.brokers, 'bench-state', pino({ level: 'error' }), config.kafkaSecurity);
await waitUntil(async () => (await readStateChangelog(stateReader, changelog)).size >= N + 20, {
  timeoutMs: 60_000,
  intervalMs: 500,
  what: 'tasks recorded',
});

const samplesUs: number[] = [];
for (let i = 0; i < N + 20; i++) {
  const proposal = follow(tasks[i]!, 'ActionProposed', sampleProposal({ reasoning: 'bench' }), { producer: 'bench' });
  const started = process.hrtime.bigint();
  await publisher.publish(proposal);
  await waitUntil(() => verdicts.messages.some((m) => m.decoded?.event.causationId === proposal.id), { intervalMs: 1 });
  if (i >= 20) samplesUs.push(Number(process.hrtime.bigint() - started) / 1000); // the first 20 warm up
}
const guardStats = report('proposal -> verdict (guard worker)', samplesUs);

// Baseline: raw produce -> consume of a message of the same size, one at a time.
const kafka = createKafka(config.brokers, 'bench-raw', pino({ level: 'error' }), config.kafkaSecurity);
const rawTopic = `${config.topicPrefix}.raw-rtt`;
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [rawTopic]);
await admin.disconnect();
const producer = kafka.producer();
await producer.connect();
const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.raw-rtt` });
await consumer.connect();
await consumer.subscribe({ topic: rawTopic, fromBeginning: true });
const seen = new Set<string>();
const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
await consumer.run({
  eachMessage: ({ message }) => {
    seen.add(String(message.key));
    return Promise.resolve();
  },
});
await joined;
const payload = Buffer.alloc(1200, 1);
const rawUs: number[] = [];
for (let i = 0; i < N + 20; i++) {
  const started = process.hrtime.bigint();
  await producer.send({ topic: rawTopic, acks: -1, messages: [{ key: `k${i}`, value: payload }] });
  await waitUntil(() => seen.has(`k${i}`), { intervalMs: 1 });
  if (i >= 20) rawUs.push(Number(process.hrtime.bigint() - started) / 1000);
}
const rawStats = report('baseline: raw kafkajs produce -> consume', rawUs);
console.log(
  `ratio p50 guard/raw: ${(guardStats.p50 / rawStats.p50).toFixed(1)}x; p99: ${(guardStats.p99 / rawStats.p99).toFixed(1)}x`,
);
await consumer.disconnect();
await producer.disconnect();
await verdicts.close();
await publisher.close();
await guard.close();
process.exit(0);
