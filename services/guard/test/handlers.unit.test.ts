import { readFileSync } from 'node:fs';
import { canonicalHash, eventSchemas, follow, newTask, type EventOf } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createHandlers } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE, evolve, initialTaskView, loadPolicy } from '@warden/policy';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';

const policy = loadPolicy(JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown);

/** An ActionProposed of task-1, chained to its TaskSubmitted. */
function proposal(step = 1): EventOf<'ActionProposed'> {
  const task = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
  const args = { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
  const data = {
    actionId: 'a1',
    step,
    tool: 'customers.update',
    args,
    argsHash: canonicalHash(args),
    reasoning: 'the customer asked',
    confidence: { value: 0.97, source: 'structured' as const },
    claims: [],
  };
  const draft = follow({ envelope: task, hash: canonicalHash(task) }, 'ActionProposed', data, { producer: 'planner' });
  return eventSchemas.ActionProposed.parse(draft) as EventOf<'ActionProposed'>;
}

describe("the guard's handlers, without Kafka", () => {
  it('rejects a proposal of a task it has never seen (no scope is known), chained to the proposal', async () => {
    const handlers = createHandlers({
      store: { viewOf: (taskId: string) => Promise.resolve(initialTaskView(taskId)) } as never,
      policy,
      estimateImpact: () => Promise.resolve({ rows: 1, files: 0, recipients: 0, moneyUsd: 0 }),
      escalationTtlMs: 3_600_000,
      now: () => new Date('2030-01-01T00:00:00Z'),
      causeWaitMs: 0,
    });
    const event = proposal();
    const t = createTestHandlerContext({ event });
    await handlers.ActionProposed(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['ActionRejected']);
    expect(t.drafts[0]!.data).toMatchObject({
      proposalEventId: event.id,
      actionId: 'a1',
      ruleFired: 'task',
      reasonCode: 'task_unknown',
      policyVersion: policy.version,
      tool: 'customers.update',
      argsHash: event.data.argsHash,
    });
    expect(t.published[0]!.envelope).toMatchObject({
      causationId: event.id,
      seq: event.seq + 1,
      prevHashes: [t.ctx.hash],
      policyVersion: policy.version,
    });
  });

  describe('budgets before the verdict', () => {
    const submittedAtMs = Date.parse('2030-01-01T00:00:00Z');
    const task = sampleTask({ budgets: { maxTokens: 50_000, maxCostUsd: 1, maxSteps: 3, maxWallTimeMs: 600_000 } });
    const view = evolve(initialTaskView('task-1'), {
      type: 'TaskSubmitted',
      tenantId: 'tenant-a',
      data: task as never,
    });
    const deadlineMs = submittedAtMs + 600_000;
    const guardAt = (nowMs: number) =>
      createHandlers({
        store: {
          viewOf: () => Promise.resolve(view),
          deadlineOf: () => deadlineMs,
          recordApproval: () => Promise.resolve(),
        } as never,
        policy,
        estimateImpact: () => Promise.resolve({ rows: 1, files: 0, recipients: 0, moneyUsd: 0 }),
        escalationTtlMs: 3_600_000,
        now: () => new Date(nowMs),
        causeWaitMs: 0,
      });

    it("rejects an action once the task's wall time has run out: no effect is approved after it", async () => {
      const event = proposal();
      const t = createTestHandlerContext({ event });
      await guardAt(deadlineMs + 1).ActionProposed(event, t.ctx);
      expect(t.drafts.map((d) => d.type)).toEqual(['ActionRejected']);
      expect(t.drafts[0]!.data).toMatchObject({
        ruleFired: 'budget',
        reasonCode: 'wall_time_exhausted',
        actionId: 'a1',
      });
    });

    it('rejects an action past the step budget', async () => {
      const event = proposal(4);
      const t = createTestHandlerContext({ event });
      await guardAt(submittedAtMs + 1_000).ActionProposed(event, t.ctx);
      expect(t.drafts[0]!.data).toMatchObject({ ruleFired: 'budget', reasonCode: 'steps_exhausted' });
    });

    it("judges an action within the budgets as usual, and its verdict carries the task's deadline", async () => {
      const event = proposal(3);
      const t = createTestHandlerContext({ event });
      await guardAt(deadlineMs - 1).ActionProposed(event, t.ctx);
      const verdict = t.drafts.find((d) => d.type === 'ActionApproved' || d.type === 'EscalationRequested');
      expect(verdict, JSON.stringify(t.drafts.map((d) => d.data))).toBeDefined();
      const deadlineAt = new Date(deadlineMs).toISOString();
      if (verdict!.type === 'ActionApproved') expect(verdict!.data).toMatchObject({ deadlineAt });
      else expect(verdict!.data).toMatchObject({ action: { deadlineAt } });
    });
  });
});
