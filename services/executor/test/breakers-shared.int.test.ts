import type { WardenEvent } from '@warden/contracts';
import {
  EventCollector,
  startTestPublisher,
  testWorkerConfig,
  waitUntil,
  type TestPublisher,
} from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createExecutorWorker, type ExecutorWorker } from '../src/index.js';
import { actionApproved, resultOf, testBreakers, testSettings, testTool, withTasks } from './helpers.js';

describe('breakers shared by two executor replicas', () => {
  const config = testWorkerConfig(stack());
  const replicas: ExecutorWorker[] = [];
  let publisher: TestPublisher;
  let out: EventCollector;
  let calls = 0;

  beforeAll(async () => {
    // A flapping tool: one call in five succeeds. Only the error rate over the window can open its breaker.
    const flaky = testTool('test.flaky', (args) =>
      calls++ % 5 === 0 ? Promise.resolve({ n: args.n }) : Promise.reject(new Error('flap')),
    );
    for (const name of ['replica-a', 'replica-b']) {
      const worker = createExecutorWorker({
        runtime: config,
        settings: testSettings({ replicaId: name, breakers: { ...testBreakers, consecutiveFailures: 1_000 } }),
        tools: () => [flaky],
      });
      await worker.start();
      replicas.push(worker);
    }
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.results.v1`, `${config.topicPrefix}.alerts.v1`],
      config.mongoDb,
    );
  });
  afterAll(async () => {
    await out?.close();
    await publisher?.close();
    for (const r of replicas) await r.close();
  });

  it('a flapping tool opens its breaker on both replicas, and both then fail fast', async () => {
    let opened: WardenEvent | undefined;
    for (let i = 0; i < 40 && opened === undefined; i++) {
      const draft = actionApproved(`flap-${i}`, 'a1', 'test.flaky', { n: i });
      await publisher.publish(...withTasks(draft));
      await resultOf(out, draft.id);
      opened = out.events().find((e) => e.type === 'BreakerOpened');
    }
    expect(opened?.data).toMatchObject({ scope: 'tool', name: 'test.flaky' });
    if (opened?.type === 'BreakerOpened') expect(opened.data.errorRate).toBeGreaterThan(0.5);
    await waitUntil(() => replicas.every((r) => r.breakerState('test.flaky') === 'open'), {
      timeoutMs: 60_000,
      what: 'the breaker open on both replicas',
    });
    const callsWhenOpen = calls;
    const after = Array.from({ length: 8 }, (_, i) => actionApproved(`flap-open-${i}`, 'a1', 'test.flaky', { n: i }));
    await publisher.publish(...withTasks(...after));
    for (const d of after) expect((await resultOf(out, d.id)).data).toMatchObject({ errorClass: 'breaker_open' });
    expect(calls).toBe(callsWhenOpen);
  });
});
