import { verifyChain, type WardenEvent } from '@warden/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../infra/pipeline.js';
import { stack } from './support/index.js';

/**
 * The failure modes of DESIGN.md through the whole loop: the scripted model drives the real planner, the guard
 * judges, the executor acts on real stores, over the real Kafka, registry and MongoDB.
 */
describe('the agent loop end to end, on the bundled scripted model', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(stack());
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  const types = (taskId: string): string[] => p.taskEvents(taskId).map((e) => e.type);

  it('completes a grounded refund: proposals approved, effects run once, the answer approved, the chain intact', async () => {
    await p.submit('e2e-refund', 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
    });
    const end = await p.waitFor('e2e-refund', (e) =>
      ['TaskCompleted', 'TaskFailed', 'TaskHalted', 'EscalationRequested'].includes(e.type),
    );
    expect(end.type, JSON.stringify(end.data)).toBe('TaskCompleted');
    const events = await p.waitForWholeChain('e2e-refund');
    expect(
      events.filter((e) => e.type === 'ToolSucceeded').map((e) => (e.type === 'ToolSucceeded' ? e.data.tool : '')),
    ).toEqual(['customers.query', 'payments.refund']);
    expect(events.filter((e) => e.type === 'ActionApproved')).toHaveLength(3);
    expect(await p.db.collection('refunds').countDocuments({ orderId: 'ord_7731' })).toBe(1);
    const chain = verifyChain(
      p.events.messages.filter((m) => m.decoded?.event.taskId === 'e2e-refund').map((m) => m.decoded!.envelope),
    );
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
  });

  it('scope creep: a delete that would match every customer is sized by a dry run and stopped before it runs', async () => {
    await p.submit('e2e-creep', 'scope-creep', {
      goal: 'Clean up the customer data',
      input: {},
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    const stop = await p.waitFor('e2e-creep', (e) => e.type === 'EscalationRequested' || e.type === 'ActionRejected');
    expect(stop.type).toBe('EscalationRequested');
    if (stop.type === 'EscalationRequested') {
      expect(stop.data.reasonCode).toMatch(/magnitude|rows/);
      expect(stop.data.action?.impact?.rows).toBe(33);
    }
    expect(await p.db.collection('customers').countDocuments()).toBe(33);
    expect(types('e2e-creep')).not.toContain('ToolSucceeded');
  });

  it('hallucination: an id that appears nowhere is escalated, naming it, and nothing is changed', async () => {
    await p.submit('e2e-hallucination', 'hallucinated-id', {
      goal: "Suspend Jane Doe's account (jane.doe@example.com).",
      input: { email: 'jane.doe@example.com', status: 'suspended' },
      scope: { tools: ['customers.query', 'customers.update'], resources: { collections: ['customers'] } },
    });
    const stop = await p.waitFor(
      'e2e-hallucination',
      (e) => e.type === 'EscalationRequested' || e.type === 'ActionRejected',
    );
    expect(stop.type, JSON.stringify(types('e2e-hallucination'))).toBe('EscalationRequested');
    if (stop.type === 'EscalationRequested') {
      expect(stop.data.reasonCode).toMatch(/ground/);
      expect(stop.data.reason).toContain('cus_8f3a2c91');
    }
    expect(await p.db.collection('customers').countDocuments({ status: 'suspended' })).toBe(0);
  });

  it('infinite retry: the same failing call is caught within its limit and the task halts with a partial result', async () => {
    await p.submit('e2e-loop', 'retry-loop', {
      goal: 'Check the status page for the current incident',
      input: { url: 'https://status.example.com/api/v1/incidents/current' },
      scope: { tools: ['http.get'], resources: { hosts: ['status.example.com'] } },
    });
    const halted = await p.waitFor(
      'e2e-loop',
      (e) => e.type === 'TaskHalted' || e.type === 'TaskCompleted' || e.type === 'TaskFailed',
    );
    expect(halted.type, JSON.stringify(types('e2e-loop'))).toBe('TaskHalted');
    await p.waitFor('e2e-loop', (e) => e.type === 'LoopDetected');
    await p.waitFor('e2e-loop', (e) => e.type === 'AlertRaised');
    const all = types('e2e-loop');
    expect(all).toContain('LoopDetected');
    expect(all).toContain('AlertRaised');
    expect(all.filter((t) => t === 'ToolFailed').length).toBeLessThanOrEqual(3);
    if (halted.type === 'TaskHalted') expect(halted.data.partial.why.length).toBeGreaterThan(0);
  });

  it('cost: a task whose token budget cannot cover the next call halts before it, with BudgetExhausted and a person asked', async () => {
    await p.submit('e2e-cost', 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
      budgets: { maxTokens: 6_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    const end = await p.waitFor('e2e-cost', (e) => ['TaskCompleted', 'TaskFailed', 'TaskHalted'].includes(e.type));
    expect(end.type, JSON.stringify(types('e2e-cost'))).toBe('TaskHalted');
    await p.waitFor('e2e-cost', (e) => e.type === 'BudgetExhausted'); // other topic: may arrive after the halt
    const all = p.taskEvents('e2e-cost');
    const trail = all.map((e) => [
      e.type,
      e.type === 'TaskHalted' ? e.data.reasonCode : e.type === 'ModelResponded' ? e.data.usage.totalTokens : '',
    ]);
    expect(
      all.map((e) => e.type),
      JSON.stringify(trail),
    ).toContain('BudgetExhausted');
    const used = all.reduce((sum, e) => sum + (e.type === 'ModelResponded' ? e.data.usage.totalTokens : 0), 0);
    expect(used).toBeLessThanOrEqual(6_000);
  });

  it('breaker: a model that keeps giving unusable answers opens the per-task breaker, halts the task and alerts', async () => {
    await p.submit('e2e-breaker', 'empty-answer', {
      goal: 'Say which plan customer cus_1042 is on.',
      input: { customerId: 'cus_1042' },
      risk: { onMagnitudeExceeded: 'escalate', maxConsecutiveFailures: 3 },
    });
    const end = await p.waitFor('e2e-breaker', (e) => ['TaskCompleted', 'TaskFailed', 'TaskHalted'].includes(e.type));
    expect(end.type, JSON.stringify(types('e2e-breaker'))).toBe('TaskHalted');
    if (end.type === 'TaskHalted') expect(end.data.reasonCode).toBe('task_breaker_open');
    const opened = await p.waitFor('e2e-breaker', (e) => e.type === 'BreakerOpened');
    if (opened.type === 'BreakerOpened') expect(opened.data).toMatchObject({ scope: 'task', consecutiveFailures: 3 });
    await p.waitFor('e2e-breaker', (e) => e.type === 'AlertRaised');
    expect(types('e2e-breaker')).not.toContain('AnswerProposed');
  });

  it('tool breaker: a tool failing across tasks opens its breaker; the planner then stops offering it and nothing more is dispatched', async () => {
    const tasks = ['e2e-tb-1', 'e2e-tb-2', 'e2e-tb-3', 'e2e-tb-4'];
    for (const id of tasks) {
      await p.submit(id, 'pipeline-missing-file', {
        goal: 'Summarise reports/q3.csv.',
        input: { path: 'reports/q3.csv' },
        scope: { tools: ['files.read'], resources: { paths: ['reports/**'] } },
      });
      await p.waitFor(id, (e) => ['TaskCompleted', 'TaskFailed', 'TaskHalted'].includes(e.type));
    }
    const trail = JSON.stringify(tasks.map(types));
    const opened = p.events.events().find((e) => e.type === 'BreakerOpened' && e.data.scope === 'tool');
    expect(opened, trail).toBeDefined();
    if (opened?.type === 'BreakerOpened') expect(opened.data).toMatchObject({ name: 'files.read' });
    expect(p.events.events().some((e) => e.type === 'AlertRaised' && e.data.code === 'breaker_open')).toBe(true);
    // Five failed runs open it (EXECUTOR_BREAKER_CONSECUTIVE=5); after that the tool never runs again: the planner
    // stops offering it, and a proposal already on its way fails fast (breaker_open) without dispatching.
    const failed = p.events.events().filter((e) => e.type === 'ToolFailed' && tasks.includes(e.taskId));
    const ran = failed.filter((e) => e.type === 'ToolFailed' && e.data.errorClass === 'tool_error');
    expect(ran.length, trail).toBe(5);
    expect(
      failed.every((e) => e.type === 'ToolFailed' && ['tool_error', 'breaker_open'].includes(e.data.errorClass)),
    ).toBe(true);
    const last = p.taskEvents('e2e-tb-4');
    expect(
      last.some((e) => e.type === 'ActionProposed'),
      trail,
    ).toBe(false);
    expect(last.at(-1)?.type).toBe('TaskHalted');
  });

  it('low confidence on a destructive action pauses it for a person', async () => {
    await p.submit('e2e-low', 'low-confidence-delete', {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    const stop = await p.waitFor(
      'e2e-low',
      (e: WardenEvent) => e.type === 'EscalationRequested' || e.type === 'ActionRejected',
    );
    expect(stop.type, JSON.stringify(types('e2e-low'))).toBe('EscalationRequested');
    if (stop.type === 'EscalationRequested') expect(stop.data.reasonCode).toMatch(/confidence/);
    expect(await p.db.collection('customers').countDocuments({ _id: 'cus_2291' } as never)).toBe(1);
  });
});

describe('a person in the loop, end to end', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(stack());
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  it("a low-confidence delete is escalated, approved through the people's API, run once, and the task completes", async () => {
    await p.submit('e2e-approve', 'low-confidence-delete', {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    const approved = new Set<string>();
    let end: WardenEvent | undefined;
    // approve every escalation of the task (the delete, then possibly the low-confidence answer) until it ends
    while (end === undefined) {
      const next = await p.waitFor(
        'e2e-approve',
        (e) =>
          ['TaskCompleted', 'TaskFailed', 'TaskHalted'].includes(e.type) ||
          (e.type === 'EscalationRequested' && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') {
        end = next;
        break;
      }
      approved.add(next.data.escalationId);
      await p.approve('e2e-approve', next.data.escalationId);
    }
    expect(end.type, JSON.stringify(p.taskEvents('e2e-approve').map((e) => e.type))).toBe('TaskCompleted');
    const events = await p.waitForWholeChain('e2e-approve');
    const decisions = events.filter((e) => e.type === 'HumanApproved');
    expect(decisions.length).toBe(approved.size);
    expect(decisions[0]!.data).toMatchObject({ tool: 'customers.delete', decidedBy: { id: 'demo-approver' } });
    expect(
      events.filter((e) => e.type === 'ToolSucceeded').map((e) => (e.type === 'ToolSucceeded' ? e.data.tool : '')),
    ).toEqual(['customers.query', 'customers.delete']);
    expect(await p.db.collection('customers').countDocuments({ _id: 'cus_2291' } as never)).toBe(0);
    const chain = verifyChain(
      p.events.messages.filter((m) => m.decoded?.event.taskId === 'e2e-approve').map((m) => m.decoded!.envelope),
    );
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
  });
});
