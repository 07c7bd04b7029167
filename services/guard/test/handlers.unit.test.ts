import { readFileSync } from 'node:fs';
import { canonicalHash, eventSchemas, follow, newTask, type EventOf } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createHandlers } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE, initialTaskView, loadPolicy } from '@warden/policy';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';

const policy = loadPolicy(JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown);

/** An ActionProposed of task-1, chained to its TaskSubmitted. */
function proposal(): EventOf<'ActionProposed'> {
  const task = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
  const args = { id: 'c-42', set: { status: 'inactive' } };
  const data = {
    actionId: 'a1',
    step: 1,
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
});
