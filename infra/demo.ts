/**
 * Warden's main job on a fresh machine: bring the local stack up (or use KAFKA_BROKERS / SCHEMA_REGISTRY_URL /
 * MONGO_URL), then send a task through the real wire and show its audit chain.
 *
 * Today the flow is the runtime's round trip through all three servers: a TaskSubmitted event (with a secret in its
 * input, redacted before produce) is framed by the schema registry codec, consumed by a worker, answered with a
 * chained TaskCompleted (outbox and blobs in MongoDB), read back from Kafka and its hash chain verified.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { newTask, verifyChain } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { defineWorker } from '@warden/runtime';
import { EventCollector, startTestPublisher, testWorkerConfig } from '@warden/runtime/testing';
import { readStackEndpoints } from './stack/endpoints.js';

const root = resolve(import.meta.dirname, '..');
const say = (line: string): void => void process.stdout.write(`${line}\n`);

say('== Warden demo: bringing the local stack up (first run downloads and builds; later runs reuse ~/.cache/warden)');
const up = spawnSync(process.execPath, ['--import', 'tsx', resolve(root, 'infra/stack/stack.ts'), 'up'], {
  cwd: root,
  stdio: 'inherit',
});
if (up.status !== 0) {
  process.stderr.write('demo: the local stack did not come up; see above, or run `npm run stack -- status`\n');
  process.exit(1);
}
const endpoints = readStackEndpoints();
if (endpoints === undefined) {
  process.stderr.write('demo: no stack endpoints after `stack up`\n');
  process.exit(1);
}
say(`kafka ${endpoints.kafkaBrokers} | registry ${endpoints.schemaRegistryUrl} | mongodb ${endpoints.mongoUrl}`);

const config = testWorkerConfig(endpoints, {
  topicPrefix: `demo-${Date.now()}`,
  mongoDb: 'warden_demo',
  logLevel: 'warn',
});
const worker = defineWorker({
  name: 'demo-echo',
  consumes: ['TaskSubmitted'],
  config,
  handlers: {
    TaskSubmitted: async (event, ctx) => {
      ctx.logger.info('handling');
      await ctx.publish('TaskCompleted', {
        answer: `Received "${event.data.goal}" for tenant ${event.tenantId}`,
        totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
      });
    },
  },
});

await worker.start();
const collector = await EventCollector.start(
  endpoints,
  [`${config.topicPrefix}.tasks.v1`, `${config.topicPrefix}.outcomes.v1`],
  config.mongoDb,
);
const publisher = await startTestPublisher(config);
try {
  const task = newTask(
    sampleTask({ input: { orderId: '1001', customerId: 'c-42', note: 'api_key=sk-demoSECRET0123456789abcdef' } }),
    { tenantId: 'tenant-demo', producer: 'demo' },
  );
  const [sent] = await publisher.publish(task);
  say(
    `\n-> TaskSubmitted ${task.taskId} (${sent?.bytes.length} bytes, ${sent?.redactions} secret(s) redacted before produce)`,
  );
  const events = await collector.waitFor(
    (es) => es.some((e) => e.type === 'TaskCompleted' && e.taskId === task.taskId),
    60_000,
  );
  const mine = collector.messages.filter((m) => m.decoded?.event.taskId === task.taskId).map((m) => m.decoded!);
  for (const d of mine.sort((a, b) => a.event.seq - b.event.seq)) {
    say(
      `   seq ${d.event.seq}  ${d.event.type.padEnd(14)} hash ${d.hash.slice(0, 16)}…  prev [${d.envelope.prevHashes.map((h) => h.slice(0, 8)).join(', ')}]`,
    );
  }
  const completed = events.find((e) => e.type === 'TaskCompleted' && e.taskId === task.taskId);
  if (completed?.type === 'TaskCompleted') say(`<- ${completed.data.answer}`);
  const verdict = verifyChain(mine.map((d) => d.envelope));
  say(
    `\naudit chain: ${verdict.ok ? `ok (${verdict.count} events, head seq ${verdict.head?.seq})` : `BROKEN: ${verdict.firstBreak.detail}`}`,
  );
  const secretLeaked = collector.messages.some((m) => m.message.value?.toString().includes('sk-demoSECRET'));
  say(`secret in the log: ${secretLeaked ? 'LEAKED' : 'no (redacted)'}`);
  say('\nThe stack keeps running for the next demo or test run; stop it with: npm run stack -- down');
  process.exitCode = verdict.ok && !secretLeaked ? 0 : 1;
} finally {
  await publisher.close();
  await collector.close();
  await worker.close();
}
