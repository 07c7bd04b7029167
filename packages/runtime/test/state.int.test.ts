/**
 * Keyed state on the real stack (ADR 0027): ctx.state is changelogged in each chunk's transaction, restored by the
 * next owner of a partition (after a SIGKILL, after a rebalance), from a compacted changelog, past a corrupt record.
 * The counter worker (fixtures/counter-worker.ts) answers the n-th event of a task with "count n": a lost state
 * restarts at 1, a state ahead of the committed offsets counts an event twice; either shows as a wrong sequence.
 */
import { resolve } from 'node:path';
import { canonicalHash, follow, newTask, type WardenEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { ensureTopics, Topics, type Worker, type WorkerRuntimeConfig } from '@warden/runtime';
import {
  EventCollector,
  readStateChangelog,
  startChildWorker,
  startTestPublisher,
  testKafka,
  testWorkerConfig,
  waitUntil,
  type ChildWorker,
  type TestPublisher,
} from '@warden/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { counterWorker } from './fixtures/counter-worker.js';

const counterScript = resolve(import.meta.dirname, 'fixtures/counter-child.ts');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function event(taskId: string, input: Record<string, unknown> = {}) {
  return newTask(sampleTask({ input }), { tenantId: 'tenant-a', taskId, producer: 'test' });
}

/** The answers of each task, in log order. */
function answersByTask(events: WardenEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (e.type !== 'TaskCompleted') continue;
    out.set(e.taskId, [...(out.get(e.taskId) ?? []), e.data.answer]);
  }
  return out;
}

/** An AlertRaised of a task (the alerts topic): the counter counts it in the same state as the task's events. */
function alert(taskId: string) {
  const task = event(taskId);
  return follow(
    { envelope: task, hash: canonicalHash(task) },
    'AlertRaised',
    {
      alertId: `${taskId}:${Math.random()}`,
      code: 'policy_warn',
      severity: 'info',
      message: 'counted',
      subject: { taskId },
    },
    { producer: 'test' },
  );
}

const counts = (n: number, from = 1): string[] => Array.from({ length: n }, (_, i) => `count ${from + i}`);

async function started(worker: Worker): Promise<Worker> {
  cleanups.push(() => worker.close());
  await worker.start();
  return worker;
}

async function publisherFor(config: WorkerRuntimeConfig): Promise<TestPublisher> {
  const p = await startTestPublisher(config);
  cleanups.push(() => p.close());
  return p;
}

async function outcomes(config: WorkerRuntimeConfig): Promise<EventCollector> {
  const c = await EventCollector.start(stack(), [`${config.topicPrefix}.outcomes.v1`], config.mongoDb);
  cleanups.push(() => c.close());
  return c;
}

/** Publishes `rounds` events for each task, round by round (each task's events in order). */
async function publishRounds(publisher: TestPublisher, tasks: readonly string[], rounds: number, input = {}) {
  for (let r = 0; r < rounds; r++) await publisher.publish(...tasks.map((t) => event(t, input)));
}

describe('keyed state (ctx.state) on the real stack', () => {
  it('survives a SIGKILL of its worker process: the next owner restores it and counts on, nothing twice', async () => {
    const config = testWorkerConfig(stack(), { batchSize: 5, concurrency: 3 });
    const kill = (w: ChildWorker): void => void w.child.kill('SIGKILL');
    const first = await startChildWorker(counterScript, config);
    cleanups.push(async () => kill(first));
    const out = await outcomes(config);
    const tasks = Array.from({ length: 6 }, (_, i) => `kill-${i}`);
    const publisher = await publisherFor(config);
    await publishRounds(publisher, tasks, 8, { delayMs: 30 });
    await out.waitFor((es) => es.filter((e) => e.type === 'TaskCompleted').length >= 12, 60_000, 'first answers');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const answeredBeforeKill = out.events().filter((e) => e.type === 'TaskCompleted').length;
    expect(answeredBeforeKill).toBeLessThan(tasks.length * 8);
    const second = await startChildWorker(counterScript, config);
    cleanups.push(async () => kill(second));
    await out.waitFor(
      (es) => es.filter((e) => e.type === 'TaskCompleted').length >= tasks.length * 8,
      90_000,
      'every event answered',
    );
    const byTask = answersByTask(out.events());
    for (const t of tasks) expect(byTask.get(t), t).toEqual(counts(8));
  });

  it('moves with a rebalance: a new owner restores each partition it is given, for every topic of the task', async () => {
    const config = testWorkerConfig(stack());
    const a = await started(counterWorker(config));
    const out = await outcomes(config);
    const tasks = Array.from({ length: 9 }, (_, i) => `move-${i}`);
    const publisher = await publisherFor(config);
    // Each round: a TaskSubmitted (tasks topic) and an AlertRaised (alerts topic) of every task, one state per task.
    const round = async () => publisher.publish(...tasks.flatMap((t) => [event(t), alert(t)]));
    for (let r = 0; r < 2; r++) await round();
    await out.waitFor((es) => es.length >= 36, 60_000, 'phase 1');
    const b = await started(counterWorker(config)); // joins: the partitions are dealt again between a and b
    await round();
    await out.waitFor((es) => es.length >= 54, 60_000, 'phase 2, shared');
    await a.close(); // b now owns every partition, restoring those a held
    await round();
    await round();
    await out.waitFor((es) => es.length >= 90, 60_000, 'phase 3, b alone');
    const byTask = answersByTask(out.events());
    // The two topics interleave, so the order may vary; each of the task's 10 events got its own count.
    const sorted = (xs: string[] | undefined) =>
      [...(xs ?? [])].sort((x, y) => Number(x.slice(6)) - Number(y.slice(6)));
    for (const t of tasks) expect(sorted(byTask.get(t)), t).toEqual(counts(10));
    expect(b.state()).toBe('running');
  });

  it("drops a task's state nobody wrote for the idle TTL: a tombstone in the changelog, the task starts again", async () => {
    const config = testWorkerConfig(stack(), { logLevel: 'silent', stateIdleTtlMs: 1_500 });
    const changelog = new Topics(config.topicPrefix).stateOf('counter');
    await started(counterWorker(config));
    const out = await outcomes(config);
    const publisher = await publisherFor(config);
    await publishRounds(publisher, ['idle-a', 'idle-b'], 2);
    await out.waitFor((es) => es.length >= 4, 60_000, 'the first answers');
    // Before the TTL the values are there; after it (and a wake check) they are tombstoned.
    const kafka = testKafka(stack());
    const dropped = await waitUntil(
      async () => {
        const values = await readStateChangelog(kafka, changelog);
        return values.size === 0 ? values : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the idle states to be tombstoned' },
    );
    expect(dropped.size).toBe(0);
    await publishRounds(publisher, ['idle-a'], 1);
    await out.waitFor((es) => es.length >= 5, 60_000, 'the answer after the drop');
    expect(answersByTask(out.events()).get('idle-a')).toEqual(['count 1', 'count 2', 'count 1']);
  });

  it('restores from a compacted changelog: latest values, tombstoned keys gone, a corrupt record skipped', async () => {
    const config = testWorkerConfig(stack(), { logLevel: 'silent' });
    const changelog = new Topics(config.topicPrefix).stateOf('counter');
    const kafka = testKafka(stack());
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Compaction made eager so that the test sees it: small segments, any dirty ratio, tombstones kept briefly.
    await ensureTopics(admin, [changelog], {
      configs: {
        'cleanup.policy': 'compact',
        'segment.ms': '200',
        'min.cleanable.dirty.ratio': '0.001',
        'delete.retention.ms': '200',
        'min.compaction.lag.ms': '0',
      },
    });
    const first = await started(counterWorker(config));
    const out = await outcomes(config);
    const publisher = await publisherFor(config);
    const live = ['compact-a', 'compact-b'];
    await publishRounds(publisher, live, 20);
    await publishRounds(publisher, ['compact-ended'], 3);
    await publisher.publish(event('compact-ended', { end: true }));
    await out.waitFor((es) => es.length >= 44, 60_000, 'the first answers');
    await first.close();

    // A corrupt record (not the worker's: written by hand) for a task, on every partition.
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const partitions = (await admin.fetchTopicOffsets(changelog)).map((p) => p.partition);
    const corrupt = partitions.map((partition) => ({ key: 'compact-corrupt', value: 'not json {', partition }));
    await producer.send({ topic: changelog, messages: corrupt });
    const written = 20 * 2 + 4 + partitions.length;
    // Records left after the cleaner ran (a segment rolls on the next record after segment.ms: keep writing one).
    const raw = async (): Promise<number> => {
      const offsets = await admin.fetchTopicOffsets(changelog);
      let count = 0;
      const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.raw-${Date.now()}`, readUncommitted: true });
      const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
      const left = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
      let finish: () => void = () => undefined;
      const done = new Promise<void>((r) => (finish = r));
      if (left.size === 0) finish();
      await consumer.connect();
      await consumer.subscribe({ topics: [changelog], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          count += batch.messages.length;
          if (BigInt(batch.lastOffset()) + 1n >= ends.get(batch.partition)!) left.delete(batch.partition);
          if (left.size === 0) finish();
          await Promise.resolve();
        },
      });
      await done;
      await consumer.disconnect();
      return count;
    };
    const compacted = await waitUntil(
      async () => {
        await producer.send({ topic: changelog, messages: [{ key: 'compact-filler', value: null }] });
        const n = await raw();
        return n < written / 2 ? n : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2_000, what: 'the log cleaner to compact the changelog' },
    );
    expect(compacted).toBeLessThan(written / 2);

    const restoredAt = Date.now();
    const second = await started(counterWorker(config));
    await publishRounds(publisher, [...live, 'compact-ended', 'compact-corrupt'], 1);
    await out.waitFor((es) => es.length >= 48, 60_000, 'answers after the restore');
    const restoreMs = Date.now() - restoredAt;
    const byTask = answersByTask(out.events());
    expect(byTask.get('compact-a')).toEqual(counts(21));
    expect(byTask.get('compact-b')).toEqual(counts(21));
    expect(byTask.get('compact-ended')).toEqual([...counts(4), 'count 1']); // deleted at its end: starts again
    expect(byTask.get('compact-corrupt')).toEqual(['count 1']); // the corrupt record was skipped, not fatal
    expect(second.state()).toBe('running');
    console.info(
      `compacted changelog: ${compacted} of ${written} records left; restore and first answers in ${restoreMs} ms`,
    );
  });
});
