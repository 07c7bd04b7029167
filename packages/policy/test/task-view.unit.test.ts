import { describe, expect, it } from 'vitest';
import {
  approvedImpact,
  decide,
  evolve,
  guardStateOf,
  initialTaskView,
  type TaskView,
  type TaskViewEvent,
} from '../src/index.js';
import { TASK_ID, TENANT_ID, act, defaultPolicy, impact, taskWith } from './helpers.js';

const submitted: TaskViewEvent = { type: 'TaskSubmitted', tenantId: TENANT_ID, data: taskWith() };
const search: TaskViewEvent = {
  type: 'ToolSucceeded',
  data: {
    actionId: 'a1',
    tool: 'knowledge.search',
    result: {
      hits: [
        { sourceId: 'kb:refunds', text: 'Refunds up to $200 are approved automatically', score: 0.9 },
        { sourceId: 'kb:refunds', text: 'Refunds up to $200 are approved automatically', score: 0.8 },
      ],
    },
  },
};
const approved = (actionId: string, moneyUsd: number): TaskViewEvent => ({
  type: 'ActionApproved',
  data: { actionId, impact: impact({ rows: 1, moneyUsd }) },
});

const fold = (events: readonly TaskViewEvent[]): TaskView => events.reduce(evolve, initialTaskView(TASK_ID));

describe('evolve: the guard view of a task, folded from its events', () => {
  it('has no state for decide() until the task is submitted', () => {
    expect(guardStateOf(fold([search, approved('a2', 5)]), 'a3', null)).toBeUndefined();
    const state = guardStateOf(fold([submitted, search]), 'a3', null);
    expect(state).toMatchObject({ taskId: TASK_ID, tenantId: TENANT_ID, task: submitted.data, impact: null });
    expect(Object.isFrozen(state)).toBe(true);
  });

  it('keeps each tool result and each fact once, as the guard store ($addToSet) always did', () => {
    const view = fold([submitted, search, search, approved('a2', 5), approved('a2', 5)]);
    expect(view.toolResults).toHaveLength(1);
    expect(view.facts).toEqual([{ sourceId: 'kb:refunds', text: 'Refunds up to $200 are approved automatically' }]);
    expect(view.approved).toEqual([{ actionId: 'a2', impact: impact({ rows: 1, moneyUsd: 5 }) }]);
  });

  it('sums approved money with plain addition in approval order, unrounded, as the live guard did', () => {
    const view = fold([submitted, approved('a2', 0.1), approved('a3', 0.2)]);
    expect(approvedImpact(view)).toEqual(impact({ rows: 2, moneyUsd: 0.1 + 0.2 }));
    expect(approvedImpact(view).moneyUsd).not.toBe(0.3); // 0.30000000000000004: the state hash depends on it
  });

  it("judges a proposal on what was approved before it, leaving out the proposal's own approval", () => {
    const view = fold([submitted, approved('a2', 150), approved('a3', 40)]);
    expect(guardStateOf(view, 'a3', null)?.approvedImpact).toEqual(impact({ rows: 1, moneyUsd: 150 }));
    expect(guardStateOf(view, 'a9', null)?.approvedImpact).toEqual(impact({ rows: 2, moneyUsd: 190 }));
  });

  it('never changes the view it is given', () => {
    const before = fold([submitted, search]);
    const copy = structuredClone(before);
    evolve(before, approved('a2', 1));
    evolve(before, { type: 'ToolSucceeded', data: { actionId: 'a5', tool: 'customers.query', result: { rows: [] } } });
    expect(before).toEqual(copy);
  });

  it('gives decide() the same verdict and state hash whatever the redeliveries', () => {
    const refund = act('payments.refund', { orderId: 'ORD-77', amountUsd: 120.5 }, { actionId: 'a4' });
    const once = guardStateOf(fold([submitted, search, approved('a2', 0.1)]), 'a4', impact({ moneyUsd: 120.5 }))!;
    const twice = guardStateOf(
      fold([submitted, search, search, approved('a2', 0.1), approved('a2', 0.1)]),
      'a4',
      impact({ moneyUsd: 120.5 }),
    )!;
    const a = decide(once, refund, defaultPolicy);
    const b = decide(twice, refund, defaultPolicy);
    expect(b.outcome).toBe(a.outcome);
    expect(b.inputHashes).toEqual(a.inputHashes);
  });
});
