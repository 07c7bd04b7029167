/**
 * Tracing bench (issue 20): events per second through a no-op worker with tracing off (no SDK: the API's no-op
 * tracer) and on (the Node SDK started by startTelemetry, every span sampled and exported over OTLP/HTTP to a sink in
 * a child process), alternating in the same run over the same input; plus the cost of one handling's span alone.
 * Target: tracing on keeps >= 0.8 x the events per second of tracing off.
 * Needs the stack: npm run stack -- up; then npm run bench -- tracing
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { context, trace } from '@opentelemetry/api';
import {
  TELEMETRY_OFF,
  createKafka,
  defineWorker,
  ensureTopics,
  startTelemetry,
  type Telemetry,
} from '@warden/runtime';
import { startTestPublisher, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { pino } from 'pino';
import { benchSetting } from './config.js';
import { benchEndpoints, report, target, timeEach } from './support.js';

const N = benchSetting('BENCH_EVENTS', 10_000);
const ROUNDS = benchSetting('BENCH_ROUNDS', 3);
const noopAnswer = {
  answer: 'ok',
  totals: { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
};

// An OTLP/HTTP sink in its own process (its work is not the worker's): reads each export and answers 200.
const sink = spawn(
  process.execPath,
  [
    '-e',
    "const s=require('http').createServer((q,r)=>{q.resume();q.on('end',()=>r.end('{}'))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))",
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = (await once(sink.stdout, 'data')) as [Buffer];
const tracesUrl = `http://127.0.0.1:${portLine.toString().trim()}/v1/traces`;

const endpoints = benchEndpoints();
const config = testWorkerConfig(endpoints, { concurrency: 3, logLevel: 'error' });
const tasksTopic = `${config.topicPrefix}.tasks.v1`;
console.log(`tracing bench: ${N} events, 3 partitions, ${ROUNDS} rounds of off then on, Node ${process.version}`);
const kafka = createKafka(config.brokers, 'bench', pino({ level: 'error' }), config.kafkaSecurity);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [tasksTopic, `${config.topicPrefix}.outcomes.v1`]);
const publisher = await startTestPublisher(config);
const drafts = Array.from({ length: N }, (_, i) =>
  newTask(sampleTask(), { tenantId: 'tenant-a', taskId: `bench-${i}`, producer: 'bench' }),
);
for (let i = 0; i < N; i += 1000) await publisher.publish(...drafts.slice(i, i + 1000));
await publisher.close();

async function committed(groupId: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [tasksTopic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Events per second of a no-op worker over the N events, on a fresh group, and its CPU microseconds per event. */
async function workerRun(name: string): Promise<{ perSecond: number; cpuUs: number }> {
  let handled = 0;
  let t0: number | undefined;
  let cpu0: NodeJS.CpuUsage | undefined;
  const worker = defineWorker({
    name,
    consumes: ['TaskSubmitted'],
    config,
    handlers: {
      TaskSubmitted: async (_event, ctx) => {
        t0 ??= performance.now();
        cpu0 ??= process.cpuUsage();
        await ctx.publish('TaskCompleted', noopAnswer);
        handled++;
      },
    },
  });
  await worker.start();
  await waitUntil(async () => handled >= N && (await committed(`${config.topicPrefix}.${name}`)) >= N, {
    timeoutMs: 300_000,
    intervalMs: 10,
    what: `${name} transactions`,
  });
  const perSecond = N / ((performance.now() - t0!) / 1000);
  const cpu = process.cpuUsage(cpu0);
  await worker.close();
  return { perSecond, cpuUs: (cpu.user + cpu.system) / N };
}

/** A handling's span alone: start (with the task-root parent when on), set its attributes, end. */
function spanCostUs(): number {
  const tracer = trace.getTracer('bench');
  const samples = timeEach(20_000, (i) => {
    const span = tracer.startSpan(`process TaskSubmitted`, {}, context.active());
    if (span.isRecording()) span.setAttributes({ 'warden.task.id': `bench-${i}`, 'messaging.system': 'kafka' });
    span.end();
  });
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

const on = (): Telemetry =>
  startTelemetry({ ...TELEMETRY_OFF, tracesUrl, sampler: 'always_on' }, { serviceName: 'bench' });
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const off = await workerRun(`off-${round}`);
  const telemetry = on();
  const traced = await workerRun(`on-${round}`);
  await telemetry.shutdown();
  ratios.push(traced.perSecond / off.perSecond);
  cpuRatios.push(traced.cpuUs / off.cpuUs);
  console.log(
    `round ${round + 1}: tracing off ${off.perSecond.toFixed(0)} events/s (${off.cpuUs.toFixed(0)} us CPU/event), ` +
      `on (sampled, exported) ${traced.perSecond.toFixed(0)} events/s (${traced.cpuUs.toFixed(0)} us CPU/event), ` +
      `ratio ${(traced.perSecond / off.perSecond).toFixed(2)}, CPU ratio ${(traced.cpuUs / off.cpuUs).toFixed(2)}`,
  );
}
report('span, tracing off (no-op API)', [spanCostUs()]);
const telemetry = on();
report('span, tracing on (recorded, batched export)', [spanCostUs()]);
await telemetry.shutdown();
const medianOf = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const median = medianOf(ratios);
console.log(`median CPU per event, on / off: ${medianOf(cpuRatios).toFixed(2)} (less sensitive to a shared machine)`);
const ok = target('tracing on >= 0.8 x off (median round)', median >= 0.8, `ratio ${median.toFixed(2)}`);
await admin.disconnect();
sink.kill();
process.exit(ok ? 0 : 1);
