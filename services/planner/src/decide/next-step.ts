import type { EventData } from '@warden/contracts';
import { detectLoop, type LoopFinding } from './loops.js';
import type { ActionRecord, GivenPlanStep, LoopSettings, RawToolCall, TaskState } from './types.js';

/** Why a task must stop now. */
export type HaltReason =
  | { readonly kind: 'loop'; readonly loop: LoopFinding }
  | { readonly kind: 'breaker'; readonly consecutiveFailures: number; readonly limit: number }
  | {
      readonly kind: 'budget';
      readonly budget: EventData<'BudgetExhausted'>['budget'];
      readonly limit: number;
      readonly used: number;
      readonly requested: number;
    }
  /** The model's reply went past the completion tokens the call asked for and reserved. */
  | {
      readonly kind: 'overrun';
      readonly maxTokens: number;
      readonly completionTokens: number;
      readonly reservedTokens: number;
      readonly usedTokens: number;
    }
  /** A verdict that does not match what it judges (another answer, other args): nothing can be done safely. */
  | { readonly kind: 'mismatch'; readonly message: string };

/** What the planner does next for a task. */
export type NextStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'halt'; readonly reason: HaltReason }
  | { readonly kind: 'propose_queued'; readonly call: RawToolCall }
  | { readonly kind: 'call_model' }
  /** A given plan's next step (ADR 0026). */
  | { readonly kind: 'propose_given'; readonly step: GivenPlanStep }
  /** Every step of a given plan succeeded: the closing answer. */
  | { readonly kind: 'answer_given' }
  /** A step of a given plan did not succeed: with no model to plan around it, the task fails. */
  | { readonly kind: 'fail_given'; readonly record: ActionRecord };

/**
 * The next step of a task with a given plan: each step once, in order; the first that does not succeed ends it.
 * Every step proposed leaves one action record, so the records count the steps done.
 */
function nextGiven(state: TaskState, given: readonly GivenPlanStep[]): NextStep {
  const failed = state.history.find((r) => r.outcome !== 'succeeded');
  if (failed !== undefined) return { kind: 'fail_given', record: failed };
  const step = given[state.history.length];
  return step === undefined ? { kind: 'answer_given' } : { kind: 'propose_given', step };
}

/**
 * The next step of a task, from its state and the time. Pure. Only a task that is planning (its last proposal
 * answered) moves. In order: the wall-time limit, a loop, the per-task breaker (N consecutive failures), then the
 * step limit; then a queued call of the last turn is proposed, or the model is called. A task with a given plan
 * (ADR 0026) goes through its steps instead, after the wall-time and step limits.
 */
export function decideNext(state: TaskState, nowMs: number, loops: LoopSettings): NextStep {
  if (state.status !== 'planning') return { kind: 'none' };
  const elapsed = nowMs - state.startedAtMs;
  if (elapsed > state.limits.maxWallTimeMs) {
    return {
      kind: 'halt',
      reason: { kind: 'budget', budget: 'wall_time', limit: state.limits.maxWallTimeMs, used: elapsed, requested: 0 },
    };
  }
  if (state.given !== undefined) {
    if (state.steps >= state.limits.maxSteps) {
      return {
        kind: 'halt',
        reason: { kind: 'budget', budget: 'steps', limit: state.limits.maxSteps, used: state.steps, requested: 1 },
      };
    }
    return nextGiven(state, state.given);
  }
  // A loop is reported as a loop even when the same failures also trip the task's breaker: it says more.
  const loop = detectLoop(state.loopFrom === undefined ? state.history : state.history.slice(state.loopFrom), loops);
  if (loop !== null) return { kind: 'halt', reason: { kind: 'loop', loop } };
  if (state.consecutiveFailures >= state.limits.maxConsecutiveFailures) {
    return {
      kind: 'halt',
      reason: {
        kind: 'breaker',
        consecutiveFailures: state.consecutiveFailures,
        limit: state.limits.maxConsecutiveFailures,
      },
    };
  }
  if (state.steps >= state.limits.maxSteps) {
    return {
      kind: 'halt',
      reason: { kind: 'budget', budget: 'steps', limit: state.limits.maxSteps, used: state.steps, requested: 1 },
    };
  }
  const queued = state.queue[0];
  if (queued !== undefined) return { kind: 'propose_queued', call: queued };
  return { kind: 'call_model' };
}
