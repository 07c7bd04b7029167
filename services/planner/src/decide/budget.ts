import type { Budgets, RiskSettings, TokenUsage } from '@warden/contracts';
import type { TaskBudget, TaskLimits, TaskState } from './types.js';

/** The price of a model, in USD per million tokens. */
export interface ModelPrice {
  /** A model name, or a prefix ending in "*" (e.g. "scripted:*"). */
  readonly model: string;
  readonly inputUsdPerMTok: number;
  readonly outputUsdPerMTok: number;
}

/**
 * The price of a model: an exact entry, else the longest matching "prefix*" entry; undefined when none matches
 * (the caller fails closed: no call without a price).
 */
export function priceOf(model: string, table: readonly ModelPrice[]): ModelPrice | undefined {
  const exact = table.find((p) => p.model === model);
  if (exact !== undefined) return exact;
  return table
    .filter((p) => p.model.endsWith('*') && model.startsWith(p.model.slice(0, -1)))
    .sort((a, b) => b.model.length - a.model.length)[0];
}

/** The cost of a call's usage at a price, in USD. */
export function costOf(usage: Pick<TokenUsage, 'promptTokens' | 'completionTokens'>, price: ModelPrice): number {
  return (usage.promptTokens * price.inputUsdPerMTok + usage.completionTokens * price.outputUsdPerMTok) / 1_000_000;
}

/** USD in whole micro-dollars, rounded up (budgets count integers so that concurrent increments never drift). */
export function toMicroUsd(usd: number): number {
  return Math.ceil(usd * 1_000_000 - 1e-6);
}

/** What a model call reserves: its prompt plus the most it may answer, and their price. */
export function reservationFor(
  promptTokens: number,
  maxTokens: number,
  price: ModelPrice,
): { tokens: number; costMicroUsd: number } {
  return {
    tokens: promptTokens + maxTokens,
    costMicroUsd: toMicroUsd(costOf({ promptTokens, completionTokens: maxTokens }, price)),
  };
}

/** The most any one task may ask for, whatever its TaskSubmitted says. */
export type TaskCeilings = TaskLimits;

/** A task's limits: its own budgets and breaker threshold, each capped by the tenant's ceiling. Pure. */
export function resolveLimits(budgets: Budgets, risk: RiskSettings, ceilings: TaskCeilings): TaskLimits {
  return {
    maxTokens: Math.min(budgets.maxTokens, ceilings.maxTokens),
    maxCostUsd: Math.min(budgets.maxCostUsd, ceilings.maxCostUsd),
    maxSteps: Math.min(budgets.maxSteps, ceilings.maxSteps),
    maxWallTimeMs: Math.min(budgets.maxWallTimeMs, ceilings.maxWallTimeMs),
    maxConsecutiveFailures: Math.min(risk.maxConsecutiveFailures, ceilings.maxConsecutiveFailures),
  };
}

/** A task's budget figures (ADR 0031): as kept, or (a state saved before they were) derived from its totals. Pure. */
export function taskBudgetOf(state: Pick<TaskState, 'budget' | 'totals'>): TaskBudget {
  return (
    state.budget ?? { tokens: state.totals.usage.totalTokens, microUsd: Math.max(0, toMicroUsd(state.totals.costUsd)) }
  );
}

/** Why a task's own budget cannot take a reservation (BudgetExhausted's figures), or null when it can. Pure. */
export function taskBudgetRefusal(
  budget: TaskBudget,
  limits: Pick<TaskLimits, 'maxTokens' | 'maxCostUsd'>,
  wanted: { readonly tokens: number; readonly costMicroUsd: number },
): { budget: 'tokens' | 'cost'; limit: number; used: number; requested: number } | null {
  if (budget.tokens + wanted.tokens > limits.maxTokens) {
    return { budget: 'tokens', limit: limits.maxTokens, used: budget.tokens, requested: wanted.tokens };
  }
  if (budget.microUsd + wanted.costMicroUsd > toMicroUsd(limits.maxCostUsd)) {
    return {
      budget: 'cost',
      limit: limits.maxCostUsd,
      used: budget.microUsd / 1_000_000,
      requested: wanted.costMicroUsd / 1_000_000,
    };
  }
  return null;
}

/**
 * A task's budget with a model call's reservation recorded (BudgetReserved), or settled at the call's usage
 * (ModelResponded, ModelFailed). A settlement with no open reservation of that call adds its usage (never
 * under-counts). Pure.
 */
export function reserveTaskBudget(budget: TaskBudget, open: TaskBudget['open'] & object): TaskBudget {
  return { tokens: budget.tokens + open.tokens, microUsd: budget.microUsd + open.microUsd, open };
}

/** See reserveTaskBudget. */
export function settleTaskBudget(
  budget: TaskBudget,
  callId: string,
  used: { readonly tokens: number; readonly microUsd: number },
): TaskBudget {
  const open = budget.open?.callId === callId ? budget.open : undefined;
  return {
    tokens: budget.tokens - (open?.tokens ?? 0) + used.tokens,
    microUsd: budget.microUsd - (open?.microUsd ?? 0) + used.microUsd,
    ...(open === undefined && budget.open !== undefined ? { open: budget.open } : {}),
  };
}
