import type { Impact, JsonObject } from '@warden/contracts';
import { demoTools, estimateToolImpact, offlineImpactDeps, type ToolDefinitionRegistry } from '@warden/tools';

/** Estimates the impact of a destructive action before it runs; null when it cannot tell. Stops at `signal`. */
export type ImpactEstimator = (tool: string, args: JsonObject, signal?: AbortSignal) => Promise<Impact | null>;

const never = new AbortController().signal;

/**
 * An estimator that sizes every destructive action by its tool's own dry run (estimateImpact in the tool's
 * definition), over read-only stores of type I. Null for an unknown or non-destructive tool, for args the tool's
 * schema refuses (the schema check denies them) and for a call its stores refuse: the guard then escalates a
 * destructive action as impact_unknown rather than guess.
 */
export function toolImpactEstimator<I>(tools: ToolDefinitionRegistry<never, I>, deps: I): ImpactEstimator {
  return (tool, args, signal = never) => estimateToolImpact(tools, tool, args, deps, { signal });
}

/**
 * The demo tools' dry runs with no store (offline, e.g. a backtest): a tool sized from its arguments answers, one
 * that must count in a store (a customers.delete) gets null.
 */
export const argsImpactEstimator: ImpactEstimator = toolImpactEstimator(demoTools, offlineImpactDeps);
