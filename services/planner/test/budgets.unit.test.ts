import type { EventData, JsonValue } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import type { HandlerContext } from '@warden/runtime';
import { demoTools } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import {
  TenantAllowances,
  advance,
  costOf,
  initialState,
  o200kCounter,
  toMicroUsd,
  type ModelClient,
  type PlannerDeps,
  type TaskState,
} from '../src/index.js';
import { MemoryOwner } from './fixtures/memory-owner.js';

const price = { model: 'scripted:*', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 };
const usage = { promptTokens: 300, completionTokens: 40, totalTokens: 340 };
const answer = JSON.stringify({ answer: 'Done.', reasoning: 'nothing to do', confidence: 0.9, claims: [] });

function taskOf(taskId: string, maxTokens = 100_000): TaskState {
  return initialState({
    eventId: `submitted-${taskId}`,
    taskId,
    tenantId: 'tenant-a',
    model: 'scripted:x',
    task: sampleTask() as EventData<'TaskSubmitted'>,
    startedAtMs: Date.now(),
    limits: { maxTokens, maxCostUsd: 5, maxSteps: 10, maxWallTimeMs: 600_000, maxConsecutiveFailures: 3 },
  });
}

/** The planner's deps over tenant allowances from an in-memory owner, a model that answers at once. */
function depsFor(tenantTokens: number) {
  const owner = new MemoryOwner();
  const allowances = new TenantAllowances(owner, {
    size: { tokens: 20_000, microUsd: 100_000 },
    usableMs: 60_000,
    idleMs: 10_000,
  });
  let calls = 0;
  const model: ModelClient = {
    complete: () => {
      calls++;
      return Promise.resolve({
        content: answer,
        reasoning: null,
        toolCalls: [],
        finishReason: 'stop',
        usage,
        logprobConfidence: null,
        attempts: 1,
        durationMs: 1,
      });
    },
    isOpen: () => false,
    close: () => undefined,
  };
  const deps: PlannerDeps = {
    model,
    tools: demoTools,
    budgets: allowances,
    tokens: o200kCounter,
    prices: [price],
    loops: { maxRepeatedFailures: 2, maxRepeatedSuccesses: 3, oscillationCycles: 3, maxStepsWithoutNewInfo: 6 },
    window: { lastTurns: 4, toolOutputMaxTokens: 1_000, summaryMaxTokens: 400 },
    maxCompletionTokens: 1_000,
    maxAnswerChars: 20_000,
    tenantLimit: () => ({ tokens: tenantTokens, costUsd: 100 }),
    openTools: () => new Set(),
    escalationTtlMs: 60_000,
    policyVersion: 'p',
    now: () => new Date(),
    redact: (v) => v,
  };
  return { owner, allowances, deps, calls: () => calls };
}

async function move(state: TaskState, deps: PlannerDeps) {
  const published: { type: string; data: JsonValue }[] = [];
  let n = 0;
  const publish = ((type: string, data: JsonValue) => {
    published.push({ type, data });
    return Promise.resolve({ envelope: { id: `pub-${state.taskId}-${++n}` } });
  }) as unknown as HandlerContext['publish'];
  const after = await advance(state, deps, { publish, signal: new AbortController().signal });
  return { after, published, types: published.map((e) => e.type) };
}

describe("a model call's budgets (ADR 0031)", () => {
  it("keeps the task's budget in its state and the tenant's on an allowance: one take for many calls", async () => {
    const { owner, allowances, deps } = depsFor(1_000_000);
    const first = await move(taskOf('t1'), deps);
    expect(first.types).toEqual(['ModelCalled', 'BudgetReserved', 'ModelResponded', 'AnswerProposed']);
    const reserved = first.published[1]!.data as EventData<'BudgetReserved'>;
    expect(reserved.taskUsed).toEqual({ tokens: reserved.tokens, costUsd: reserved.costUsd });
    // the task's figures: the call at its usage, nothing open
    expect(first.after.budget).toEqual({ tokens: 340, microUsd: toMicroUsd(costOf(usage, price)) });
    expect(owner.takes).toHaveLength(1);
    expect(owner.takes[0]!.min).toEqual({ tokens: reserved.tokens, microUsd: toMicroUsd(reserved.costUsd) });
    for (const id of ['t2', 't3', 't4']) await move(taskOf(id), deps);
    expect(owner.takes, 'no store for the next calls').toHaveLength(1);
    expect(owner.gives).toHaveLength(0);
    expect(allowances.allowanceOf('tenant-a')).toMatchObject({
      spent: { tokens: 4 * 340 },
      held: { tokens: 0, microUsd: 0 },
    });
    await allowances.close();
    expect(owner.used.tokens).toBe(4 * 340);
  });

  it("refuses on the task's own budget without asking the tenant's owner", async () => {
    const { owner, deps, calls } = depsFor(1_000_000);
    const { types, published } = await move(taskOf('small', 500), deps);
    expect(types).toEqual(['BudgetExhausted', 'AlertRaised', 'EscalationRequested', 'TaskHalted']);
    expect(published[0]!.data).toMatchObject({ budget: 'tokens', limit: 500, used: 0 });
    expect(owner.takes).toHaveLength(0);
    expect(calls()).toBe(0);
  });

  it("refuses on the tenant's budget when the owner cannot grant what the call needs", async () => {
    const { owner, deps, calls } = depsFor(1_200);
    const { types, published } = await move(taskOf('t1'), deps);
    expect(types).toEqual(['BudgetExhausted', 'AlertRaised', 'EscalationRequested', 'TaskHalted']);
    const refusal = published[0]!.data as EventData<'BudgetExhausted'>;
    expect(refusal).toMatchObject({ budget: 'tenant_tokens', limit: 1_200, used: 0 });
    expect(refusal.requested).toBeGreaterThan(1_200);
    expect(owner.takes).toHaveLength(1);
    expect(calls()).toBe(0);
  });

  it('charges a call in full when the handling throws after the model was called (its usage is not known)', async () => {
    const { allowances, deps } = depsFor(1_000_000);
    const broken: PlannerDeps = {
      ...deps,
      model: { ...deps.model, complete: () => Promise.reject(new Error('the client broke')) },
    };
    await expect(move(taskOf('t1'), broken)).rejects.toThrow('the client broke');
    const a = allowances.allowanceOf('tenant-a')!;
    expect(a.held).toEqual({ tokens: 0, microUsd: 0 });
    expect(a.spent.tokens).toBeGreaterThan(1_000); // the prompt plus the 1,000 completion tokens it reserved
    // a publish that throws before the call: nothing charged
    const { allowances: other, deps: d2, calls } = depsFor(1_000_000);
    const failing = ((type: string) =>
      type === 'ModelCalled'
        ? Promise.reject(new Error('encode failed'))
        : Promise.resolve({ envelope: { id: 'x' } })) as unknown as HandlerContext['publish'];
    await expect(advance(taskOf('t2'), d2, { publish: failing, signal: new AbortController().signal })).rejects.toThrow(
      'encode failed',
    );
    expect(calls()).toBe(0);
    expect(other.allowanceOf('tenant-a')).toMatchObject({ spent: { tokens: 0 }, held: { tokens: 0 } });
  });
});
