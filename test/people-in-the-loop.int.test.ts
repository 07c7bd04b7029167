import {
  follow,
  generateSigningKeyPair,
  signHaltDecision,
  terminalEventTypes,
  type EventData,
  type WardenEvent,
} from '@warden/contracts';
import { startTestPublisher, waitUntil, type TestPublisher } from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../infra/pipeline.js';
import { stack } from './support/index.js';

/**
 * People's decisions through the whole pipeline (scripted model, planner, guard, executor, escalation service): a
 * denial, an admin's cancel and resume of a halted task (a forged resume refused), and an expiry halting a task.
 */

const terminal = (e: WardenEvent): boolean => terminalEventTypes.has(e.type);

/** One call to a pipeline's people API as its approver and admin. */
async function people(
  p: Pipeline,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${p.people.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${p.people.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const escalationPath = (taskId: string, escalationId: string): string =>
  `/tasks/${encodeURIComponent(taskId)}/escalations/${encodeURIComponent(escalationId)}`;

const deleteTask = {
  goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
  input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
  scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
};

describe('people decide through the whole pipeline', () => {
  let p: Pipeline;
  let publisher: TestPublisher;
  beforeAll(async () => {
    p = await startPipeline(stack());
    publisher = await startTestPublisher(p.config);
  }, 180_000);
  afterAll(async () => {
    await publisher?.close();
    await p?.close();
  });

  /** Waits for the task's halt and for the people API to know it (the outcomes topic is read on its own). */
  async function haltOf(taskId: string): Promise<WardenEvent & { type: 'TaskHalted' }> {
    const end = await p.waitFor(taskId, terminal);
    expect(end.type, JSON.stringify(p.taskEvents(taskId).map((e) => e.type))).toBe('TaskHalted');
    const halted = end as WardenEvent & { type: 'TaskHalted' };
    const path = escalationPath(taskId, halted.data.escalationId!);
    await p.waitFor(
      taskId,
      (e) => e.type === 'EscalationRequested' && e.data.escalationId === halted.data.escalationId,
    );
    await waitUntil(async () => (await people(p, 'GET', path)).body.halt !== undefined, {
      what: `the halt of ${taskId} in the people API`,
    });
    return halted;
  }

  /** The escalation as the people API shows it once its task's budget view says halted (written behind). */
  async function haltedBudgetShown(path: string): Promise<Awaited<ReturnType<typeof people>>> {
    return waitUntil(
      async () => {
        const shown = await people(p, 'GET', path);
        const task = shown.body.task as { budget?: { status: string } } | undefined;
        return task?.budget?.status === 'halted' ? shown : undefined;
      },
      { what: `the halted budget shown at ${path}` },
    );
  }

  it('a denied delete never runs; the task halts at its step limit, and an admin cancels it (a forged resume refused)', async () => {
    const taskId = 'people-deny';
    await p.submit(taskId, 'low-confidence-delete', {
      ...deleteTask,
      budgets: { maxTokens: 100_000, maxCostUsd: 1, maxSteps: 3, maxWallTimeMs: 600_000 },
    });
    // deny every escalation (the delete, then the answer claiming it was done) until the task ends
    const denied = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        taskId,
        (e) => terminal(e) || (e.type === 'EscalationRequested' && !denied.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') {
        end = next;
        break;
      }
      denied.add(next.data.escalationId);
      if (next.data.action === null && next.data.answer === undefined) continue; // the halt's own escalation
      const path = escalationPath(taskId, next.data.escalationId);
      await waitUntil(async () => (await people(p, 'GET', path)).status === 200, { what: 'the escalation shown' });
      const res = await people(p, 'POST', `${path}/deny`, {
        comment: 'cus_2291 is not a duplicate',
      });
      expect([res.status, res.body.status]).toEqual([200, 'denied']);
    }
    const halted = await haltOf(taskId);
    expect(halted.data.reasonCode).toBe('budget_exhausted');
    expect(halted.data.partial.notDone.join(' ')).toMatch(/denied by demo-approver/);
    const events = p.taskEvents(taskId);
    expect(events.filter((e) => e.type === 'HumanDenied').length).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === 'ToolSucceeded' && e.data.tool === 'customers.delete')).toBe(false);
    expect(await p.db.collection('customers').countDocuments({ _id: 'cus_2291' } as never)).toBe(1);

    // the page shows the halted task's budget: every step spent (the planner writes its views behind, ADR 0029)
    const path = escalationPath(taskId, halted.data.escalationId!);
    const shown = await haltedBudgetShown(path);
    expect(shown.body).toMatchObject({
      status: 'pending',
      halt: { eventId: halted.id, reasonCode: 'budget_exhausted' },
      task: { budget: { status: 'halted', steps: { used: 3, limit: 3, remaining: 0 } }, breakers: { task: false } },
    });

    // a resume signed by a key the planner does not trust is refused with an alert, and changes nothing
    const forgedData: EventData<'TaskResumed'> = {
      escalationId: halted.data.escalationId!,
      haltEventId: halted.id,
      haltReasonCode: 'budget_exhausted',
      decidedBy: { id: 'mallory', kind: 'user', role: 'admin' },
      policyVersion: halted.policyVersion,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      grant: { steps: 10 },
    };
    const mallory = generateSigningKeyPair('mallory').signingKey;
    const forged = follow(
      { envelope: halted, hash: 'b'.repeat(64) },
      'TaskResumed',
      { ...forgedData, signature: signHaltDecision('TaskResumed', taskId, halted.tenantId, forgedData, mallory) },
      { producer: 'mallory' },
    );
    await publisher.publish(forged);
    const alert = await p.waitFor(taskId, (e) => e.type === 'AlertRaised' && e.data.subject.decision === forged.id);
    expect(alert.type === 'AlertRaised' && alert.data).toMatchObject({
      code: 'policy_warn',
      severity: 'critical',
      subject: { reason: 'decision_unauthenticated' },
    });

    // an admin cancels: the task ends as failed, cancelled, with its partial result; only once
    const cancelled = await people(p, 'POST', `${path}/cancel`, { comment: 'not worth more steps' });
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
    expect((await people(p, 'POST', `${path}/resume`, {})).body.error).toBe('already_decided');
    const failed = await p.waitFor(taskId, (e) => e.type === 'TaskFailed');
    expect(failed.type === 'TaskFailed' && failed.data).toMatchObject({
      reasonCode: 'cancelled',
      partial: { why: expect.stringMatching(/cancelled by demo-approver/) as unknown },
    });
    expect(failed.causationId).toBe(cancelled.body.eventId);
    const cancel = p.taskEvents(taskId).find((e) => e.id === cancelled.body.eventId)!;
    expect(cancel).toMatchObject({ type: 'TaskCancelled', causationId: halted.id, seq: halted.seq + 1 });
    expect(p.taskEvents(taskId).filter((e) => e.type === 'TaskResumed')).toHaveLength(1); // the forged one only
    expect((await people(p, 'GET', path)).body).toMatchObject({
      status: 'cancelled',
      decision: { outcome: 'cancelled', by: 'demo-approver', role: 'admin', comment: 'not worth more steps' },
    });
  });

  it('an admin resumes a task halted by its token budget, with more tokens: it completes, nothing run twice', async () => {
    const taskId = 'people-resume';
    await p.submit(taskId, 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
      budgets: { maxTokens: 6_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    const halted = await haltOf(taskId);
    expect(halted.data.reasonCode).toBe('budget_exhausted');
    const before = p.taskEvents(taskId).filter((e) => e.type === 'ToolSucceeded');
    const path = escalationPath(taskId, halted.data.escalationId!);
    const shown = await haltedBudgetShown(path);
    const budget = (
      shown.body.task as { budget: Record<'tokens' | 'costUsd' | 'steps', { used: number; limit: number }> }
    ).budget;
    expect(budget.tokens.limit).toBe(6_000);
    expect(budget.tokens.used).toBeGreaterThan(0);
    // the same figures as the planner's state when it halted (its TaskHalted totals)
    expect([budget.tokens.used, budget.costUsd.used, budget.steps.used]).toEqual([
      halted.data.totals.usage.totalTokens,
      halted.data.totals.costUsd,
      halted.data.totals.steps,
    ]);

    const resumed = await people(p, 'POST', `${path}/resume`, {
      comment: 'worth finishing',
      grant: { tokens: 200_000 },
    });
    expect([resumed.status, resumed.body.status]).toEqual([200, 'resumed']);
    // the guard may ask a person about the refund or the answer: approve what it asks until the task ends
    const approved = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        taskId,
        (e) =>
          (terminal(e) && e.seq > halted.seq) ||
          (e.type === 'EscalationRequested' && e.seq > halted.seq && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') {
        end = next;
        break;
      }
      approved.add(next.data.escalationId);
      await p.approve(taskId, next.data.escalationId);
    }
    expect(end.type, JSON.stringify(p.taskEvents(taskId).map((e) => e.type))).toBe('TaskCompleted');
    const events = await p.waitForWholeChain(taskId);
    const resume = events.find((e) => e.id === resumed.body.eventId)!;
    expect(resume).toMatchObject({ type: 'TaskResumed', causationId: halted.id, seq: halted.seq + 1 });
    // every action ran once: what succeeded before the halt was not proposed or run again
    const succeeded = events.filter((e) => e.type === 'ToolSucceeded');
    const actionIds = succeeded.map((e) => (e.type === 'ToolSucceeded' ? e.data.actionId : ''));
    expect(new Set(actionIds).size).toBe(actionIds.length);
    expect(succeeded.slice(0, before.length).map((e) => e.id)).toEqual(before.map((e) => e.id));
    const tools = succeeded.map((e) => (e.type === 'ToolSucceeded' ? e.data.tool : ''));
    expect(tools.filter((t) => t === 'customers.query')).toHaveLength(1);
    expect(tools.filter((t) => t === 'payments.refund')).toHaveLength(1);
    expect((await people(p, 'GET', path)).body).toMatchObject({ status: 'resumed', decision: { outcome: 'resumed' } });
  });

  it('an admin resumes a loop: detection starts afresh, the loop is caught again, and that halt is its own escalation', async () => {
    const taskId = 'people-loop';
    await p.submit(taskId, 'retry-loop', {
      goal: 'Check the status page for the current incident',
      input: { url: 'https://status.example.com/api/v1/incidents/current' },
      scope: { tools: ['http.get'], resources: { hosts: ['status.example.com'] } },
    });
    const first = await haltOf(taskId);
    expect(first.data.reasonCode).toBe('loop_detected');
    const failedBefore = p.taskEvents(taskId).filter((e) => e.type === 'ToolFailed').length;
    const path = escalationPath(taskId, first.data.escalationId!);
    const resumed = await people(p, 'POST', `${path}/resume`, { comment: 'the status page is back' });
    expect([resumed.status, resumed.body.status]).toEqual([200, 'resumed']);
    const second = await p.waitFor(taskId, (e) => e.type === 'TaskHalted' && e.seq > first.seq);
    if (second.type !== 'TaskHalted') throw new Error('unreachable');
    expect(second.data.reasonCode).toBe('loop_detected');
    expect(second.data.escalationId).not.toBe(first.data.escalationId);
    expect(second.data.escalationId).toMatch(/:r1$/);
    // the loop was judged on the calls after the resume only: it took as many failures again to be caught
    const failedAfter = p.taskEvents(taskId).filter((e) => e.type === 'ToolFailed' && e.seq > first.seq).length;
    expect(failedAfter).toBe(failedBefore);
    await waitUntil(
      async () => (await people(p, 'GET', escalationPath(taskId, second.data.escalationId!))).body.halt !== undefined,
      { what: 'the second halt in the people API' },
    );
    expect((await people(p, 'GET', path)).body.status).toBe('resumed');
  });
});

describe('an escalation nobody decides, through the whole pipeline', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(stack(), 'warn', 0, { guardEscalationTtlMs: 3_000 });
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  it('expires: EscalationExpired, and the task halts with its partial result instead of waiting forever', async () => {
    const taskId = 'people-expire';
    await p.submit(taskId, 'low-confidence-delete', deleteTask);
    const asked = await p.waitFor(taskId, (e) => e.type === 'EscalationRequested' && e.data.action !== null);
    const end = await p.waitFor(taskId, terminal);
    expect(end.type, JSON.stringify(p.taskEvents(taskId).map((e) => e.type))).toBe('TaskHalted');
    if (end.type !== 'TaskHalted' || asked.type !== 'EscalationRequested') throw new Error('unreachable');
    expect(end.data).toMatchObject({ reasonCode: 'escalation_expired', escalationId: asked.data.escalationId });
    expect(end.data.partial.done.join(' ')).toMatch(/customers\.query succeeded/);
    expect(end.data.partial.notDone.join(' ')).toMatch(/customers\.delete was proposed but has no result/);
    const expired = p.taskEvents(taskId).filter((e) => e.type === 'EscalationExpired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.seq).toBeLessThan(end.seq);
    const alert = await p.waitFor(taskId, (e) => e.type === 'AlertRaised' && e.data.code === 'escalation_expired');
    expect(alert.causationId).toBe(expired[0]!.id);
    expect(await p.db.collection('customers').countDocuments({ _id: 'cus_2291' } as never)).toBe(1);
    const res = await people(p, 'POST', `${escalationPath(taskId, asked.data.escalationId)}/approve`, {
      argsHash: asked.data.action!.argsHash,
      policyVersion: asked.data.policyVersion,
    });
    expect([res.status, res.body.error]).toEqual([410, 'expired']);
  });
});
