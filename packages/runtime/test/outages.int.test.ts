/**
 * Outages under load, on a private stack of this file's own (never the shared one: it kills servers): a worker
 * handles a stream of tasks (a MongoDB write and one output each) while Kafka, then MongoDB, then the registry are
 * killed and started again. Each time /readyz must name the dependency that is down with the reason, and once all
 * is back: nothing dead-lettered, every task answered exactly once (read_committed), each effect written once, and
 * the same worker still running (no restart).
 */
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { defineWorker, type Dependency, type DependencyState, type Worker } from '@warden/runtime';
import { EventCollector, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateStack, type PrivateStack } from '../../../test/support/private-stack.js';

/**
 * This file's stack: ports no other stack uses (the shared stack has the defaults), below Linux's ephemeral range
 * (32768-60999): a client socket's local port there once took 39092 in CI, and the stack could not start.
 */
const PRIVATE_STACK = {
  runDir: resolve(tmpdir(), 'warden-outages-stack'),
  ports: { kafka: 29092, kafkaController: 29093, registry: 28081, mongo: 27019 },
} as const;
/** How long a server may take to come back and the worker to catch up (Kafka restarts in about 15 s here). */
const RECOVERY_TIMEOUT_MS = 120_000;

interface Readiness {
  readonly status: number;
  readonly dependencies: Partial<Record<Dependency, DependencyState>>;
}

let privateStack: PrivateStack | undefined;
beforeAll(async () => {
  privateStack = await startPrivateStack(PRIVATE_STACK);
}, 600_000);
afterAll(async () => {
  await privateStack?.down();
}, 120_000);

describe('a worker through outages of Kafka, MongoDB and the registry', () => {
  it('reports each outage on /readyz, dead-letters nothing, and answers every event exactly once after', async () => {
    const s = privateStack!;
    const config = testWorkerConfig(s.endpoints, {
      maxAttempts: 2, // outages last far longer than two attempts: none may reach the DLQ
      retryBaseMs: 10,
      retryMaxMs: 20,
      outageRetryBaseMs: 100,
      outageRetryMaxMs: 1_000,
      healthProbeIntervalMs: 500,
      healthProbeTimeoutMs: 1_000,
      mongoOperationTimeoutMs: 3_000,
      logLevel: 'info', // the outages and recoveries, once each
    });
    const handled = new Set<string>();
    const worker: Worker = defineWorker({
      name: 'outage-echo',
      consumes: ['TaskSubmitted'],
      config,
      handlers: (deps) => ({
        TaskSubmitted: async (event, ctx) => {
          // the effect: an idempotent write per event, then one output
          await deps.db
            .collection<{ _id: string; taskId: string }>('effects')
            .updateOne({ _id: event.id }, { $set: { taskId: event.taskId } }, { upsert: true });
          await ctx.publish('TaskCompleted', {
            answer: 'ok',
            totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
          });
          handled.add(event.taskId);
        },
      }),
    });
    await worker.start();
    const readyz = async (): Promise<Readiness> => {
      const { host, port } = worker.httpAddress()!;
      const res = await fetch(`http://${host}:${port}/readyz`);
      const body = (await res.json()) as { dependencies?: Readiness['dependencies'] };
      return { status: res.status, dependencies: body.dependencies ?? {} };
    };

    // A steady stream of tasks (one every FEED_GAP_MS: the load, not a wait for anything); a publish that fails (the
    // broker is down) is tried again with the same event after FEED_RETRY_MS.
    const FEED_GAP_MS = 20;
    const FEED_RETRY_MS = 200;
    const published: string[] = [];
    let feeding = true;
    const feeder = (async () => {
      for (let n = 0; feeding; n++) {
        const draft = newTask(sampleTask({ input: { n } }), {
          tenantId: 'tenant-a',
          taskId: `t-${n}`,
          producer: 'test',
        });
        for (;;) {
          try {
            await worker.publisher().publish(draft);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, FEED_RETRY_MS));
          }
        }
        published.push(draft.taskId);
        await new Promise((r) => setTimeout(r, FEED_GAP_MS));
      }
    })();
    const caughtUp = (what: string) =>
      waitUntil(() => published.length > 0 && published.every((t) => handled.has(t)), {
        timeoutMs: RECOVERY_TIMEOUT_MS,
        intervalMs: 200,
        what: `${what} (not yet: ${published
          .filter((t) => !handled.has(t))
          .slice(0, 10)
          .join(', ')})`,
      });

    const reported: Partial<Record<Dependency, string>> = {};
    try {
      await waitUntil(() => handled.size >= 20, { timeoutMs: RECOVERY_TIMEOUT_MS, what: 'the first tasks handled' });
      for (const dependency of ['kafka', 'mongo', 'registry'] as const) {
        await s.stop(dependency, { kill: true });
        const down = await waitUntil(
          async () => {
            const r = await readyz();
            return r.status === 503 && r.dependencies[dependency]?.status === 'down' ? r : undefined;
          },
          { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 200, what: `/readyz to report ${dependency} down` },
        );
        reported[dependency] = down.dependencies[dependency]?.reason ?? '';
        // events keep coming while it is down (the broker's outage holds the stream itself back)
        const before = published.length;
        if (dependency !== 'kafka') await waitUntil(() => published.length >= before + 20, { what: 'more tasks' });
        await s.start(dependency);
        await waitUntil(async () => (await readyz()).status === 200, {
          timeoutMs: RECOVERY_TIMEOUT_MS,
          intervalMs: 200,
          what: `/readyz to be ready after ${dependency} came back`,
        });
        await caughtUp(`every task handled after the ${dependency} outage`);
      }
    } finally {
      feeding = false;
      await feeder;
    }
    await caughtUp('every task handled');
    expect(worker.state()).toBe('running'); // the same worker, never restarted

    const collector = await EventCollector.start(
      s.endpoints,
      [`${config.topicPrefix}.outcomes.v1`, `${config.topicPrefix}.dlq.v1`],
      config.mongoDb,
    );
    try {
      const events = await collector.waitFor(
        (es) => new Set(es.filter((e) => e.type === 'TaskCompleted').map((e) => e.taskId)).size >= published.length,
        RECOVERY_TIMEOUT_MS,
        'every TaskCompleted',
      );
      const answered = events.filter((e) => e.type === 'TaskCompleted').map((e) => e.taskId);
      expect(events.filter((e) => e.type === 'DeadLettered')).toEqual([]);
      expect(answered.length).toBe(published.length); // exactly once: no task answered twice...
      expect(new Set(answered)).toEqual(new Set(published)); // ...and none missing
      expect(collector.messages.filter((m) => m.topic.endsWith('.dlq.v1'))).toEqual([]);
    } finally {
      await collector.close();
    }
    const effects = await worker.deps().db.collection('effects').countDocuments();
    expect(effects).toBe(published.length);
    for (const dependency of ['kafka', 'mongo', 'registry'] as const) expect(reported[dependency]).toMatch(/\w+: /);
    await worker.close();
  }, 600_000);

  it('starts while the schema registry is down: the start waits for it instead of failing', async () => {
    const s = privateStack!;
    const config = testWorkerConfig(s.endpoints, {
      outageRetryBaseMs: 100,
      outageRetryMaxMs: 1_000,
      healthProbeIntervalMs: 500,
      healthProbeTimeoutMs: 1_000,
      startTimeoutMs: RECOVERY_TIMEOUT_MS,
    });
    const worker: Worker = defineWorker({
      name: 'late-start',
      consumes: ['TaskSubmitted'],
      config,
      handlers: { TaskSubmitted: () => Promise.resolve() },
    });
    await s.stop('registry');
    let registryUp = false;
    const started = worker.start();
    try {
      // The health server is up before the schemas are registered: it reports the registry down while start waits.
      await waitUntil(
        async () => {
          const address = worker.httpAddress();
          if (address === undefined) return false;
          const res = await fetch(`http://${address.host}:${address.port}/readyz`);
          const body = (await res.json()) as { dependencies?: Readiness['dependencies'] };
          return body.dependencies?.registry?.status === 'down';
        },
        { timeoutMs: RECOVERY_TIMEOUT_MS, what: 'the starting worker to report the registry down' },
      );
      expect(worker.state()).toBe('starting');
      await s.start('registry');
      registryUp = true;
      await started;
      expect(worker.state()).toBe('running');
    } finally {
      if (!registryUp) await s.start('registry');
      await started.catch(() => undefined);
      await worker.close();
    }
  }, 300_000);
});
