import {
  canonicalHash,
  follow,
  newTask,
  type DecodedEvent,
  type EventDataInput,
  type WardenEvent,
  verifyVerdict,
} from '@warden/contracts';
import { sampleTask, testGuardKeys, testVerdictTrust } from '@warden/contracts/testing';
import { EventCollector, startTestPublisher, testWorkerConfig, type TestPublisher } from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardWorker } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { readFileSync } from 'node:fs';
import type { Worker } from '@warden/runtime';
import { stack } from '../../../test/support/index.js';

/** The guard's signature on a verdict, checked against the test guard's public key. */
function verdictCheck(e: WardenEvent): unknown {
  if (e.type !== 'ActionApproved' && e.type !== 'ActionRejected' && e.type !== 'EscalationRequested') return e.type;
  return verifyVerdict(e.type, e.taskId, e.tenantId, e.data, testVerdictTrust.keys);
}

describe('the guard as a worker on the real stack', () => {
  const config = testWorkerConfig(stack());
  let worker: Worker;
  let publisher: TestPublisher;
  let out: EventCollector;

  beforeAll(async () => {
    worker = createGuardWorker({
      runtime: config,
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: 3_600_000,
      signingKey: testGuardKeys.signingKey,
    });
    await worker.start();
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.verdicts.v1`, `${config.topicPrefix}.alerts.v1`, `${config.topicPrefix}.dlq.v1`],
      config.mongoDb,
    );
  });
  afterAll(async () => {
    await out.close();
    await publisher.close();
    await worker.close();
  });

  /** Submits a task and returns its encoded TaskSubmitted (to chain proposals onto). */
  async function submit(
    taskId: string,
    overrides: Parameters<typeof sampleTask>[0] = {},
  ): Promise<{ envelope: DecodedEvent['envelope']; hash: string }> {
    const task = newTask(sampleTask({ input: { orderId: '1001', customerId: 'c-42', amountUsd: 25 }, ...overrides }), {
      tenantId: 'tenant-a',
      taskId,
      producer: 'test',
    });
    const [encoded] = await publisher.publish(task);
    return { envelope: encoded!.envelope, hash: encoded!.hash };
  }

  async function propose(
    cause: { envelope: DecodedEvent['envelope']; hash: string },
    data: Partial<EventDataInput<'ActionProposed'>> & { args: Record<string, unknown> },
  ): Promise<WardenEvent> {
    const draft = follow(
      cause,
      'ActionProposed',
      {
        actionId: data.actionId ?? 'a1',
        step: 1,
        tool: data.tool ?? 'customers.update',
        args: data.args,
        argsHash: canonicalHash(data.args),
        reasoning: 'the customer asked',
        confidence: data.confidence ?? { value: 0.97, source: 'structured' },
        claims: data.claims ?? [],
      },
      { producer: 'test' },
    );
    await publisher.publish(draft);
    const events = await out.waitFor(
      (es) => es.some((e) => e.causationId === draft.id),
      30_000,
      `a verdict on ${draft.id}`,
    );
    return events.find((e) => e.causationId === draft.id)!;
  }

  it('approves an in-scope, grounded, confident action, bound to its args hash', async () => {
    const task = await submit('guard-allow');
    const args = { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
    const verdict = await propose(task, { args });
    expect(verdict.type).toBe('ActionApproved');
    if (verdict.type !== 'ActionApproved') return;
    expect(verdict.data).toMatchObject({
      tool: 'customers.update',
      args,
      argsHash: canonicalHash(args),
      reasonCode: 'allowed',
    });
    expect(verdict.data.impact).toMatchObject({ rows: 1 });
    expect(verdict.data.rulesEvaluated.length).toBeGreaterThanOrEqual(6);
    expect(verdict.policyVersion).toBe('default.v1');
    expect(verdict.seq).toBe(2);
    // Signed with the guard's key, over the verdict as it came off the wire (ADR 0018).
    expect(verdictCheck(verdict)).toEqual({ ok: true, keyId: 'test-guard' });
  });

  it('denies an action outside the task scope, naming the field', async () => {
    const task = await submit('guard-scope');
    const verdict = await propose(task, { args: { collection: 'orders', id: 'c-42', set: { status: 'inactive' } } });
    expect(verdict.type).toBe('ActionRejected');
    if (verdict.type === 'ActionRejected') expect(verdict.data.message).toMatch(/collection/);
    expect(verdictCheck(verdict)).toEqual({ ok: true, keyId: 'test-guard' });
  });

  it('escalates a low-confidence action and an ungrounded id, binding the escalation to the args hash', async () => {
    const low = await propose(await submit('guard-low'), {
      args: { collection: 'customers', id: 'c-42', set: { status: 'inactive' } },
      confidence: { value: 0.3, source: 'structured' },
    });
    expect(low.type, JSON.stringify(low.data)).toBe('EscalationRequested');
    if (low.type === 'EscalationRequested') expect(low.data.reasonCode).toMatch(/confidence/);
    expect(verdictCheck(low)).toEqual({ ok: true, keyId: 'test-guard' });
    const args = { collection: 'customers', id: 'c-999', set: { status: 'inactive' } };
    const made = await propose(await submit('guard-ungrounded'), { args });
    expect(made.type).toBe('EscalationRequested');
    if (made.type === 'EscalationRequested') {
      expect(made.data.reasonCode).toMatch(/ground/);
      expect(made.data.action).toMatchObject({ tool: 'customers.update', argsHash: canonicalHash(args) });
      expect(made.data.reason).toContain('c-999');
    }
  });

  it('grounds an id on an earlier tool result cited as evidence', async () => {
    const task = await submit('guard-grounded-result');
    const result = follow(
      task,
      'ToolSucceeded',
      {
        actionId: 'q1',
        tool: 'customers.query',
        effectKey: 'guard-grounded-result:q1',
        result: { rows: [{ id: 'c-777', name: 'Ada' }], total: 1 },
        durationMs: 3,
      },
      { producer: 'test' },
    );
    const [encoded] = await publisher.publish(result);
    const verdict = await propose(
      { envelope: encoded!.envelope, hash: encoded!.hash },
      {
        actionId: 'a2',
        args: { collection: 'customers', id: 'c-777', set: { status: 'inactive' } },
        claims: [{ text: 'customer c-777 was found by the query', evidence: [{ kind: 'tool_result', ref: 'q1' }] }],
      },
    );
    expect(verdict.type, JSON.stringify(verdict.data)).toBe('ActionApproved');
  });

  it('sizes a delete by filter with a dry run against the store and escalates it over the row limit', async () => {
    const customers = worker.deps().db.collection('customers');
    await customers.insertMany(
      Array.from({ length: 30 }, (_, i) => ({ _id: `dry-${i}`, status: i < 25 ? 'inactive' : 'active' })) as never[],
    );
    const task = await submit('guard-dry-run', {
      goal: 'Clean up the inactive customers',
      input: { status: 'inactive' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    const args = { collection: 'customers', filter: { status: 'inactive' } };
    const verdict = await propose(task, { tool: 'customers.delete', args });
    expect(verdict.type, JSON.stringify(verdict.data)).toBe('EscalationRequested');
    if (verdict.type !== 'EscalationRequested') return;
    expect(verdict.data.reasonCode).toMatch(/magnitude|rows/);
    expect(verdict.data.action?.impact).toMatchObject({ rows: 25 });
  });

  it('rejects a proposal for a task it never saw', async () => {
    const orphan = {
      envelope: { ...(await submit('guard-known')).envelope, taskId: 'never-submitted' },
      hash: 'f'.repeat(64),
    };
    const verdict = await propose(orphan, {
      args: { collection: 'customers', id: 'c-42', set: { status: 'inactive' } },
    });
    expect(verdict.type).toBe('ActionRejected');
    if (verdict.type === 'ActionRejected') expect(verdict.data.reasonCode).toBe('task_unknown');
  });
});

describe('the guard with tenant caps', () => {
  it('holds a task to its tenant caps: a limit asked above the cap is lowered, with an alert', async () => {
    const config = testWorkerConfig(stack());
    const limits = sampleTask().limits; // maxRowsPerAction 10
    const worker = createGuardWorker({
      runtime: config,
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: 3_600_000,
      tenantCaps: { tenants: { 'tenant-capped': { ...limits, maxRowsPerAction: 3 } } },
    });
    await worker.start();
    const publisher = await startTestPublisher(config);
    const out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.verdicts.v1`, `${config.topicPrefix}.alerts.v1`],
      config.mongoDb,
    );
    try {
      await worker
        .deps()
        .db.collection('customers')
        .insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: `cap-${i}`, status: 'inactive' })) as never[]);
      const verdictFor = async (tenantId: string, taskId: string): Promise<WardenEvent> => {
        const ids = Array.from({ length: 5 }, (_, i) => `cap-${i}`);
        const [task] = await publisher.publish(
          newTask(
            sampleTask({
              input: { ids },
              scope: { tools: ['customers.delete'], resources: { collections: ['customers'] } },
            }),
            { tenantId, taskId, producer: 'test' },
          ),
        );
        const args = { collection: 'customers', ids };
        const draft = follow(
          task!,
          'ActionProposed',
          {
            actionId: 'd1',
            step: 1,
            tool: 'customers.delete',
            args,
            argsHash: canonicalHash(args),
            reasoning: 'the task lists them',
            confidence: { value: 0.97, source: 'structured' },
            claims: [],
          },
          { producer: 'test' },
        );
        await publisher.publish(draft);
        const events = await out.waitFor((es) => es.some((e) => e.causationId === draft.id), 30_000, 'a verdict');
        return events.find((e) => e.causationId === draft.id)!;
      };
      // 5 rows: within the task's own limit of 10, above the capped tenant's 3
      const uncapped = await verdictFor('tenant-free', 'caps-free');
      expect(uncapped.type, JSON.stringify(uncapped.data)).toBe('ActionApproved');
      const capped = await verdictFor('tenant-capped', 'caps-capped');
      expect(capped.type, JSON.stringify(capped.data)).not.toBe('ActionApproved');
      expect(JSON.stringify(capped.data)).toMatch(/magnitude|rows/);
      const alerts = await out.waitFor((es) => es.some((e) => e.type === 'AlertRaised' && e.taskId === 'caps-capped'));
      const alert = alerts.find((e) => e.type === 'AlertRaised' && e.taskId === 'caps-capped')!;
      expect(alert.data).toMatchObject({ code: 'policy_warn', subject: { rule: 'tenant_caps' } });
      expect(JSON.stringify(alert.data)).toContain('maxRowsPerAction 10 -> 3');
      expect(out.events().some((e) => e.type === 'AlertRaised' && e.taskId === 'caps-free')).toBe(false);
    } finally {
      await out.close();
      await publisher.close();
      await worker.close();
    }
  });
});
