import { follow, generateSigningKeyPair, newTask, type ProducerKey, type ProducerRole } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { EventCollector, testWorkerConfig } from '@warden/runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createAuditor } from '../src/index.js';
import { auditorTestConfig, startWire, type TestWire } from './support.js';

const totals = { steps: 1, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, costUsd: 0 };

/**
 * Issue 24, item 6, in the auditor: with the producers' public keys it checks each event's producer signature as it
 * projects, and raises audit_chain_broken (kind unverified_producer) for a forged event appended after a task's last
 * one, which chains well and so breaks no link.
 */
describe('the auditor verifies producers as well as links', () => {
  const pairs = { submitter: generateSigningKeyPair('submitter-t'), planner: generateSigningKeyPair('planner-t') };
  const producerKeys = new Map<string, ProducerKey>(
    (Object.entries(pairs) as Array<[ProducerRole, (typeof pairs)['planner']]>).map(([role, p]) => [
      p.verifyingKey.keyId,
      { ...p.verifyingKey, role },
    ]),
  );
  const runtime = testWorkerConfig(stack(), { producerKeys });
  const wires: TestWire[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it('alerts on an unsigned event appended to a signed chain, and on nothing else', async () => {
    const auditor = createAuditor({ config: auditorTestConfig(runtime) });
    closers.push(() => auditor.close());
    await auditor.start();
    for (const key of [pairs.submitter.signingKey, pairs.planner.signingKey, undefined]) {
      const wire = await startWire(key === undefined ? runtime : { ...runtime, producerKey: key });
      closers.push(() => wire.close());
      wires.push(wire);
    }
    const [submitter, planner, anonymous] = wires as [TestWire, TestWire, TestWire];
    const alerts = await EventCollector.start(stack(), [`${runtime.topicPrefix}.alerts.v1`], runtime.mongoDb);
    closers.push(() => alerts.close());

    const task = await submitter.deps.codec.encode(
      newTask(sampleTask(), { taskId: 'prod-1', tenantId: 'tenant-a', producer: 'test' }),
    );
    const end = await planner.deps.codec.encode(
      follow(
        { envelope: task.envelope, hash: task.hash },
        'TaskCompleted',
        { answer: 'ok', totals },
        { producer: 'p' },
      ),
    );
    const forged = await anonymous.deps.codec.encode(
      follow(
        { envelope: end.envelope, hash: end.hash },
        'AlertRaised',
        { alertId: 'x', code: 'policy_warn', severity: 'info', message: 'all is well', subject: {} },
        { producer: 'planner@0.1.0' },
      ),
    );
    await submitter.send([task]);
    await planner.send([end]);
    await anonymous.send([forged]);

    const found = await alerts.waitFor(
      (es) => es.some((e) => e.type === 'AlertRaised' && e.data.subject.kind === 'unverified_producer'),
      60_000,
      'an unverified_producer alert',
    );
    const raised = found.filter((e) => e.type === 'AlertRaised' && e.data.code === 'audit_chain_broken');
    expect(raised.map((e) => e.data)).toEqual([
      expect.objectContaining({
        code: 'audit_chain_broken',
        subject: expect.objectContaining({
          taskId: 'prod-1',
          kind: 'unverified_producer',
          eventId: forged.envelope.id,
        }),
      }),
    ]);
  });
});
