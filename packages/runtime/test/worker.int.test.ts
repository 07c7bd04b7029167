import { resolve } from 'node:path';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { newTask, type WardenEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
  createKafka,
  defineWorker,
  producerConfig,
  RuntimeMetricNames,
  TerminalHandlerError,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import {
  createTestTopics,
  EventCollector,
  startChildWorker,
  startTestPublisher,
  testWorkerConfig,
  waitUntil,
  type ChildWorker,
  type TestPublisher,
} from '@warden/runtime/testing';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';

const echoScript = resolve(import.meta.dirname, 'fixtures/echo-worker.ts');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function task(taskId: string, input: Record<string, unknown> = {}) {
  return newTask(sampleTask({ input }), { tenantId: 'tenant-a', taskId, producer: 'test' });
}

function completedByTask(events: WardenEvent[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of events) if (e.type === 'TaskCompleted') out.set(e.taskId, (out.get(e.taskId) ?? new Set()).add(e.id));
  return out;
}

/** An in-process worker that echoes TaskSubmitted into TaskCompleted; records the order it saw. */
function echoWorker(
  config: WorkerRuntimeConfig,
  seen: string[] = [],
  hook?: (e: WardenEvent) => Promise<void>,
): Worker {
  return defineWorker({
    name: 'echo',
    consumes: ['TaskSubmitted'],
    config,
    handlers: {
      TaskSubmitted: async (event, ctx) => {
        seen.push(`${event.taskId}#${String((event.data.input as { n?: number }).n)}`);
        await hook?.(event);
        await ctx.publish('TaskCompleted', {
          answer: 'ok',
          totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
        });
      },
    },
  });
}

async function started(worker: Worker): Promise<Worker> {
  cleanups.push(() => worker.close());
  await worker.start();
  return worker;
}

async function testPublisher(config: WorkerRuntimeConfig): Promise<TestPublisher> {
  const p = await startTestPublisher(config);
  cleanups.push(() => p.close());
  return p;
}

async function collector(
  config: WorkerRuntimeConfig,
  kinds: Array<'outcomes' | 'dlq' | 'tasks' | 'alerts'>,
): Promise<EventCollector> {
  const c = await EventCollector.start(
    stack(),
    kinds.map((k) => `${config.topicPrefix}.${k}.v1`),
    config.mongoDb,
  );
  cleanups.push(() => c.close());
  return c;
}

/**
 * A slow echo worker (5 events a chunk, `slowMs` per event) half-way through 120 tasks named `<prefix>-<n>`: the
 * first 60 are published and at least 10 answered.
 */
async function halfwayThrough(prefix: string, slowMs: number) {
  const config = testWorkerConfig(stack(), { batchSize: 5 });
  const slow = async (): Promise<void> => new Promise((r) => setTimeout(r, slowMs));
  const worker = await started(echoWorker(config, [], slow));
  const out = await collector(config, ['outcomes']);
  const drafts = Array.from({ length: 120 }, (_, i) => task(`${prefix}-${i}`, { n: i }));
  await worker.publisher().publish(...drafts.slice(0, 60));
  await waitUntil(() => out.events().length >= 10, { what: 'first outputs' });
  return { config, worker, out, drafts, slow };
}

describe('defineWorker on the real broker', () => {
  it('keeps order per key and answers every event once', async () => {
    const config = testWorkerConfig(stack());
    const seen: string[] = [];
    const worker = await started(echoWorker(config, seen));
    const out = await collector(config, ['outcomes']);
    const drafts = [];
    // 4 keys (taskIds), 15 events each with distinct ids, interleaved.
    for (let n = 0; n < 15; n++) for (const t of ['k1', 'k2', 'k3', 'k4']) drafts.push(task(t, { n }));
    await worker.publisher().publish(...drafts);
    await out.waitFor((events) => events.filter((e) => e.type === 'TaskCompleted').length === drafts.length);
    for (const key of ['k1', 'k2', 'k3', 'k4']) {
      const order = seen.filter((s) => s.startsWith(`${key}#`)).map((s) => Number(s.split('#')[1]));
      expect(order).toEqual([...Array(15).keys()]);
    }
    const outputs = out.events().filter((e) => e.type === 'TaskCompleted');
    expect(new Set(outputs.map((e) => e.causationId)).size).toBe(drafts.length);
    expect(outputs.every((e) => e.seq === 1 && e.prevHashes.length === 1)).toBe(true);
  });

  it('sends malformed bytes, schema-invalid events and a handler that always fails to the DLQ, and moves on', async () => {
    const config = testWorkerConfig(stack());
    const worker = await started(
      defineWorker({
        name: 'picky',
        consumes: ['TaskSubmitted'],
        config,
        handlers: {
          TaskSubmitted: async (event, ctx) => {
            const fail = (event.data.input as { fail?: string }).fail;
            if (fail === 'always') throw new Error('boom: always fails');
            if (fail === 'terminal') throw new TerminalHandlerError('never valid');
            await ctx.publish('TaskCompleted', {
              answer: 'ok',
              totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
            });
          },
        },
      }),
    );
    const out = await collector(config, ['outcomes', 'dlq', 'alerts']);
    const { kafka, codec } = worker.deps();
    const producer = kafka.producer(producerConfig);
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const tasksTopic = `${config.topicPrefix}.tasks.v1`;
    const schemaId = await codec.schemaIdOf('TaskSubmitted');
    const invalid = Buffer.concat([
      Buffer.from([0, 0, 0, 0, 0]),
      Buffer.from(JSON.stringify({ ...task('bad-schema'), data: { goal: 42 } })),
    ]);
    invalid.writeInt32BE(schemaId, 1);
    await producer.send({
      topic: tasksTopic,
      messages: [{ key: 'poison', value: Buffer.from('not an event at all') }],
    });
    await producer.send({ topic: tasksTopic, messages: [{ key: 'bad-schema', value: invalid }] });
    await worker
      .publisher()
      .publish(task('always', { fail: 'always' }), task('terminal', { fail: 'terminal' }), task('good'));
    const events = await out.waitFor(
      (es) => es.filter((e) => e.type === 'DeadLettered').length === 4 && es.some((e) => e.type === 'TaskCompleted'),
    );
    const dead = events.flatMap((e) => (e.type === 'DeadLettered' ? [e] : []));
    const byCode = Object.fromEntries(dead.map((d) => [d.taskId, d.data]));
    expect(byCode.poison).toMatchObject({ errorCode: 'WARDEN_CONTRACTS_MALFORMED', attempts: 1, worker: 'picky' });
    expect(Buffer.from(byCode.poison!.valueBase64!, 'base64').toString()).toBe('not an event at all');
    expect(byCode['bad-schema']).toMatchObject({ errorCode: 'WARDEN_CONTRACTS_VALIDATION' });
    expect(byCode['bad-schema']!.errorMessage).toMatch(/goal/);
    expect(byCode.always).toMatchObject({ errorCode: 'WARDEN_RUNTIME_UNCLASSIFIED', attempts: config.maxAttempts });
    expect(byCode.always!.stack).toContain('boom: always fails');
    expect(byCode.terminal).toMatchObject({ errorCode: 'WARDEN_RUNTIME_HANDLER_TERMINAL', attempts: 1 });
    expect(events.filter((e) => e.type === 'TaskCompleted').map((e) => e.taskId)).toEqual(['good']);
    // No dead letter is silent: each goes out with an alert, outside the chain of the task it names.
    const alerts = (await out.waitFor((es) => es.filter((e) => e.type === 'AlertRaised').length === 4)).flatMap((e) =>
      e.type === 'AlertRaised' ? [e] : [],
    );
    expect(alerts.map((a) => a.data.code)).toEqual(Array(4).fill('dead_lettered'));
    expect(alerts.map((a) => a.taskId).sort()).toEqual(['dlq.always', 'dlq.bad-schema', 'dlq.poison', 'dlq.terminal']);
    expect(new Set(alerts.map((a) => a.causationId))).toEqual(new Set(dead.map((d) => d.id)));
    expect(alerts.find((a) => a.taskId === 'dlq.terminal')!.data.subject).toMatchObject({
      taskId: 'terminal',
      worker: 'picky',
      errorCode: 'WARDEN_RUNTIME_HANDLER_TERMINAL',
    });
  });

  it('dead-letters an event that reuses the id of another with other content, with a critical alert', async () => {
    const config = testWorkerConfig(stack());
    const seen: string[] = [];
    const worker = await started(echoWorker(config, seen));
    const out = await collector(config, ['outcomes', 'dlq', 'alerts']);
    const first = task('id-owner', { n: 1 });
    const reused = { ...task('id-thief', { n: 2 }), id: first.id }; // another task's event under the same id
    await worker.publisher().publish(first);
    await worker.publisher().publish(reused);
    await worker.publisher().publish(first); // and the first again: a plain duplicate, skipped
    const events = await out.waitFor(
      (es) => es.some((e) => e.type === 'DeadLettered') && es.some((e) => e.type === 'AlertRaised'),
    );
    expect(seen).toEqual(['id-owner#1']);
    const dead = events.find((e) => e.type === 'DeadLettered');
    expect(dead?.type === 'DeadLettered' && dead.data).toMatchObject({
      errorCode: 'WARDEN_RUNTIME_EVENT_ID_CONFLICT',
      worker: 'echo',
    });
    expect(dead?.taskId).toBe('id-thief');
    const alert = events.find((e) => e.type === 'AlertRaised');
    expect(alert?.type === 'AlertRaised' && alert.data).toMatchObject({ code: 'dead_lettered', severity: 'critical' });
    await worker.publisher().publish(task('after-conflict', { n: 3 }));
    await out.waitFor((es) => es.some((e) => e.taskId === 'after-conflict'));
    expect(out.events().filter((e) => e.type === 'DeadLettered')).toHaveLength(1);
  });

  it('recognises a redelivered event by id and publishes nothing twice', async () => {
    const config = testWorkerConfig(stack());
    const seen: string[] = [];
    const worker = await started(echoWorker(config, seen));
    const out = await collector(config, ['outcomes']);
    const draft = task('dup', { n: 1 });
    await worker.publisher().publish(draft);
    await worker.publisher().publish(draft); // the same event again (a producer retry after a lost ack)
    await worker.publisher().publish(task('after', { n: 2 }));
    await out.waitFor((es) => es.some((e) => e.taskId === 'after'));
    expect(seen.filter((s) => s.startsWith('dup#'))).toHaveLength(1);
    expect(out.events().filter((e) => e.taskId === 'dup')).toHaveLength(1);
  });

  it('loses nothing across a rebalance between two workers of one group', async () => {
    const { config, out, drafts, slow } = await halfwayThrough('r', 5);
    const b = await started(echoWorker(config, [], slow));
    await b.publisher().publish(...drafts.slice(60));
    await out.waitFor((es) => completedByTask(es).size === drafts.length, 60_000, 'all outputs');
    const byTask = completedByTask(out.events());
    expect([...byTask.values()].every((ids) => ids.size === 1)).toBe(true);
  });

  it('recovers when another producer fences its transactions mid-stream: each event answered once', async () => {
    const { config, worker, out, drafts } = await halfwayThrough('f', 2);
    // An intruder takes each partition's transactional id: the worker's open and next transactions are fenced,
    // so its commits fail until it fences back (aborted work is handled again, from the committed offset).
    const kafka = createKafka(config.brokers, 'intruder', pino({ level: 'silent' }), config.kafkaSecurity);
    const topic = `${config.topicPrefix}.tasks.v1`;
    for (const partition of [0, 1, 2]) {
      const intruder = kafka.producer({
        ...producerConfig,
        transactionalId: `${config.topicPrefix}.echo|${topic}|${partition}`,
      });
      await intruder.connect();
      await (await intruder.transaction()).abort();
      await intruder.disconnect();
    }
    await worker.publisher().publish(...drafts.slice(60));
    await out.waitFor((es) => completedByTask(es).size === drafts.length, 60_000, 'all outputs');
    const byTask = completedByTask(out.events());
    expect([...byTask.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(worker.state()).toBe('running');
  });

  it("commits a chunk whose outputs exceed the broker's largest batch (1 MiB) in several requests of one transaction", async () => {
    // One transaction per fetch: each partition's ~67 answers of 30 kB are 2 MB, twice what a broker accepts in one
    // record batch (message.max.bytes). Sent as one request, the broker would refuse the chunk every time.
    const config = testWorkerConfig(stack(), { batchSize: 2_000, commitIntervalMs: 60_000 });
    await createTestTopics(stack(), config.topicPrefix);
    const publisher = await testPublisher(config);
    const drafts = Array.from({ length: 200 }, (_, i) => task(`big-${i}`, { n: i }));
    await publisher.publish(...drafts);
    const answer = 'a'.repeat(30_000);
    const worker = defineWorker({
      name: 'big',
      consumes: ['TaskSubmitted'],
      config,
      handlers: {
        TaskSubmitted: async (_event, ctx) => {
          await ctx.publish('TaskCompleted', {
            answer,
            totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
          });
        },
      },
    });
    const out = await collector(config, ['outcomes', 'dlq']);
    await started(worker);
    await out.waitFor((es) => completedByTask(es).size === drafts.length, 60_000, 'all 200 answers');
    const events = out.events();
    expect(events.filter((e) => e.type === 'DeadLettered')).toEqual([]);
    expect([...completedByTask(events).values()].every((ids) => ids.size === 1)).toBe(true);
  });

  it("commits a slow handler's outputs as it goes (every commitIntervalMs), not after its whole fetch", async () => {
    const config = testWorkerConfig(stack(), { batchSize: 2_000, commitIntervalMs: 50 });
    await createTestTopics(stack(), config.topicPrefix);
    const publisher = await testPublisher(config);
    // One key, so one partition, handled in order: all 60 arrive in the worker's first fetch.
    const drafts = Array.from({ length: 60 }, (_, i) => task('slow', { n: i }));
    await publisher.publish(...drafts);
    let handled = 0;
    const out = await collector(config, ['outcomes']);
    await started(
      echoWorker(config, [], async () => {
        await new Promise((r) => setTimeout(r, 30));
        handled++;
      }),
    );
    await waitUntil(() => out.events().length > 0, { timeoutMs: 30_000, intervalMs: 5, what: 'the first answer' });
    const handledAtFirstAnswer = handled;
    await out.waitFor((es) => es.length === drafts.length, 30_000, 'all answers');
    // With one transaction per fetch, nothing would be visible (read_committed) before all 60 were handled.
    expect(handledAtFirstAnswer).toBeLessThan(drafts.length);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const config = testWorkerConfig(stack());
    const worker = await started(echoWorker(config));
    const out = await collector(config, ['outcomes']);
    await worker.publisher().publish(task('m1'), task('m2'));
    await out.waitFor((es) => es.length === 2);
    const { host, port } = worker.httpAddress()!;
    const base = `http://${host}:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(RuntimeMetricNames.messagesIn);
    expect(metrics).toMatch(new RegExp(`${RuntimeMetricNames.messagesOut}(_total)?\\{[^}]*worker="echo"[^}]*\\} 2`));
    expect(metrics).toContain(`${RuntimeMetricNames.handlerDuration}_bucket`);
    expect(metrics).toMatch(new RegExp(`${RuntimeMetricNames.inFlight}\\{[^}]*worker="echo"[^}]*\\} 0`));
    await worker.close();
    expect(worker.state()).toBe('stopped');
    await expect(worker.close()).resolves.toEqual({ forced: false });
  });

  it('handles each event in a span linked to its producer, and carries the trace to what it publishes', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    cleanups.push(async () => {
      trace.disable();
      await provider.shutdown();
    });
    const config = testWorkerConfig(stack());
    const worker = await started(echoWorker(config));
    const out = await collector(config, ['outcomes']);
    const { kafka, codec } = worker.deps();
    const producer = kafka.producer(producerConfig);
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const encoded = await codec.encode(task('traced'));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const producerSpanId = '00f067aa0ba902b7';
    await producer.send({
      topic: `${config.topicPrefix}.tasks.v1`,
      messages: [
        { key: 'traced', value: encoded.bytes, headers: { traceparent: `00-${traceId}-${producerSpanId}-01` } },
      ],
    });
    await out.waitFor((es) => es.length === 1);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'process TaskSubmitted');
    expect(span).toBeDefined();
    expect(span!.spanContext().traceId).toBe(traceId);
    expect(span!.parentSpanContext?.spanId).toBe(producerSpanId);
    expect(span!.links.map((l) => l.context.spanId)).toEqual([producerSpanId]);
    expect(span!.attributes['warden.task.id']).toBe('traced');
    const headers = out.messages[0]!.message.headers ?? {};
    expect(String(headers.traceparent)).toBe(`00-${traceId}-${span!.spanContext().spanId}-01`);
    expect(String(headers['warden-task-id'])).toBe('traced');
  });
});

describe('workers as processes', () => {
  const kill = (w: ChildWorker): void => void w.child.kill('SIGKILL');

  it('loses nothing and publishes nothing twice when a worker is killed mid-batch', async () => {
    const config = testWorkerConfig(stack(), { batchSize: 10, concurrency: 3 });
    const first = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(first));
    const out = await collector(config, ['outcomes']);
    const mongo = new MongoClient(stack().mongoUrl);
    cleanups.push(() => mongo.close());
    const runs = mongo.db(config.mongoDb).collection<{ _id: string; count: number }>('runs');
    const drafts = Array.from({ length: 60 }, (_, i) => task(`kill-${i}`, { delayMs: 40 }));
    const publisher = await testPublisher(config);
    await publisher.publish(...drafts);
    await waitUntil(async () => (await runs.countDocuments()) >= 15, { what: 'the first handled events' });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const handledBeforeKill = await runs.countDocuments();
    expect(handledBeforeKill).toBeLessThan(drafts.length);
    const second = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(second));
    await out.waitFor((es) => completedByTask(es).size === drafts.length, 90_000, 'every task answered');
    const byTask = completedByTask(out.events());
    expect([...byTask.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(await runs.countDocuments()).toBe(drafts.length);
  });

  it('publishes once when a stalled worker is evicted mid-handling and then wakes up (a zombie)', async () => {
    const config = testWorkerConfig(stack(), { sessionTimeoutMs: 6_000, logLevel: 'info' });
    const zombie = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(zombie));
    const out = await collector(config, ['outcomes']);
    const mongo = new MongoClient(stack().mongoUrl);
    cleanups.push(() => mongo.close());
    const runs = mongo.db(config.mongoDb).collection<{ _id: string; count: number }>('runs');
    const publisher = await testPublisher(config);
    await publisher.publish(task('stalled', { delayMs: 1_500 }));
    await waitUntil(() => runs.findOne({ _id: 'stalled' }).then((d) => d ?? undefined), {
      what: 'the handler to start',
    });
    zombie.child.kill('SIGSTOP'); // frozen mid-handler: no heartbeat, no commit
    const successor = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(successor));
    // the group evicts the silent member; the successor takes the partition and handles the event again
    await out.waitFor((es) => es.some((e) => e.taskId === 'stalled'), 60_000, 'the successor to answer');
    zombie.child.kill('SIGCONT'); // the zombie finishes its handler and tries to publish
    await publisher.publish(task('after-zombie'));
    await out.waitFor((es) => es.some((e) => e.taskId === 'after-zombie'), 60_000, 'a later event');
    // Once the zombie has exited, nothing more can come from it. A marker sent after that to the partition of the
    // stalled task's answer is read (read_committed) only after every transaction before it on that partition has
    // ended: had the zombie committed its answer, the answer would be read before the marker.
    zombie.child.kill('SIGTERM');
    await zombie.exited;
    await publisher.sendRaw(`${config.topicPrefix}.outcomes.v1`, 'stalled', Buffer.from('marker after the zombie'));
    await waitUntil(() => out.messages.some((m) => m.message.value?.toString() === 'marker after the zombie'), {
      what: 'the marker after the zombie',
    });
    expect((await runs.findOne({ _id: 'stalled' }))?.count, 'handled by both').toBe(2);
    expect(
      out.events().filter((e) => e.taskId === 'stalled'),
      zombie.output(),
    ).toHaveLength(1);
  });

  it('drains an in-flight event on SIGTERM and exits 0', async () => {
    const config = testWorkerConfig(stack());
    const child = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(child));
    const out = await collector(config, ['outcomes']);
    const mongo = new MongoClient(stack().mongoUrl);
    cleanups.push(() => mongo.close());
    const runs = mongo.db(config.mongoDb).collection<{ _id: string; count: number }>('runs');
    const publisher = await testPublisher(config);
    await publisher.publish(task('slow', { delayMs: 2500 }));
    await waitUntil(() => runs.findOne({ _id: 'slow' }).then((d) => d ?? undefined), { what: 'the handler to start' });
    child.child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.code, child.output()).toBe(0);
    await out.waitFor((es) => es.some((e) => e.taskId === 'slow'), 10_000);
    // A new worker in the same group finds the offset committed: nothing is handled again.
    const again = await startChildWorker(echoScript, config);
    cleanups.push(async () => kill(again));
    await publisher.publish(task('marker'));
    await out.waitFor((es) => es.some((e) => e.taskId === 'marker'));
    expect((await runs.findOne({ _id: 'slow' }))?.count).toBe(1);
    expect(out.events().filter((e) => e.taskId === 'slow')).toHaveLength(1);
  });
});
