import type { Impact, MagnitudeLimits } from '@warden/contracts';
import { truncate } from './format.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { CheckContext, CheckResult } from './types.js';

/** One dimension of impact and the task's two limits on it. */
interface Dimension {
  readonly key: keyof Impact;
  readonly perAction: keyof MagnitudeLimits;
  readonly perTask: keyof MagnitudeLimits;
  readonly integer: boolean;
}

/** The impact dimensions and their limits. */
export const impactDimensions: readonly Dimension[] = [
  { key: 'rows', perAction: 'maxRowsPerAction', perTask: 'maxRowsPerTask', integer: true },
  { key: 'files', perAction: 'maxFilesPerAction', perTask: 'maxFilesPerTask', integer: true },
  { key: 'recipients', perAction: 'maxRecipientsPerAction', perTask: 'maxRecipientsPerTask', integer: true },
  { key: 'moneyUsd', perAction: 'maxMoneyUsdPerAction', perTask: 'maxMoneyUsdPerTask', integer: false },
];

/** Money is compared in whole micro-dollars, so 0.1 + 0.2 is exactly 0.3 and "at the limit" is allowed. */
const MICROS_PER_USD = 1_000_000;

function units(dimension: Dimension, value: number): number {
  return dimension.integer ? value : Math.round(value * MICROS_PER_USD);
}

function validAmount(dimension: Dimension, value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && (!dimension.integer || Number.isInteger(value))
  );
}

function validLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** The first problem with an impact record, or null when every dimension is a finite, non-negative amount. */
export function impactProblem(impact: unknown): string | null {
  if (typeof impact !== 'object' || impact === null) return 'is not an object';
  const record = impact as Record<string, unknown>;
  for (const d of impactDimensions) {
    if (!validAmount(d, record[d.key])) return `${d.key}=${String(record[d.key])} is not a valid amount`;
  }
  return null;
}

/** Adds two impacts dimension by dimension (money in micro-dollars). */
export function addImpact(a: Impact, b: Impact): Impact {
  return {
    rows: a.rows + b.rows,
    files: a.files + b.files,
    recipients: a.recipients + b.recipients,
    moneyUsd: Math.round((a.moneyUsd + b.moneyUsd) * MICROS_PER_USD) / MICROS_PER_USD,
  };
}

/** True when an impact reaches `fraction` of a per-action limit in any dimension (a "large" action). */
export function isLargeImpact(impact: Impact, limits: MagnitudeLimits, fraction: number): boolean {
  return impactDimensions.some((d) => {
    const limit = limits[d.perAction];
    return validLimit(limit) && impact[d.key] > 0 && impact[d.key] >= fraction * limit;
  });
}

/**
 * Magnitude check. A destructive tool must come with an impact estimate (its dry run), else escalate. The impact
 * must fit each per-action limit, and the guard's own approved total plus this impact must fit each per-task
 * limit; exactly at a limit is allowed. Over a limit: deny or escalate as task.risk.onMagnitudeExceeded says
 * (deny when it says nothing). Missing or non-positive limits deny: a limit is never read as "unbounded".
 */
export function checkMagnitude(ctx: CheckContext): CheckResult {
  const { proposal, tool, state } = ctx;
  if (proposal.kind === 'answer') return { outcome: 'skip', detail: 'an answer has no impact' };
  if (!tool) return { outcome: 'skip', detail: 'unknown tool' };
  const impact = state.impact;
  if (impact === null) {
    if (!tool.destructive) return { outcome: 'allow', detail: 'not destructive; no impact declared' };
    return {
      outcome: 'escalate',
      code: GuardReasonCodes.impactUnknown,
      detail: `destructive tool ${tool.name} has no impact estimate from a dry run`,
    };
  }
  const impactIssue = impactProblem(impact);
  if (impactIssue !== null) {
    return { outcome: 'escalate', code: GuardReasonCodes.impactUnknown, detail: `impact estimate ${impactIssue}` };
  }
  const approvedIssue = impactProblem(state.approvedImpact);
  if (approvedIssue !== null) {
    return { outcome: 'deny', code: GuardReasonCodes.guardStateInvalid, detail: `approvedImpact ${approvedIssue}` };
  }
  const limits = state.task.limits as Partial<Record<keyof MagnitudeLimits, unknown>>;
  for (const d of impactDimensions) {
    for (const name of [d.perAction, d.perTask]) {
      if (!validLimit(limits[name])) {
        return {
          outcome: 'deny',
          code: GuardReasonCodes.limitsInvalid,
          detail: `limits.${name} is missing or not positive`,
        };
      }
    }
  }
  const overAction: string[] = [];
  const overTask: string[] = [];
  for (const d of impactDimensions) {
    const perAction = limits[d.perAction] as number;
    const perTask = limits[d.perTask] as number;
    const amount = impact[d.key];
    if (units(d, amount) > units(d, perAction)) {
      overAction.push(`impact.${d.key}=${amount} exceeds limits.${d.perAction}=${perAction}`);
    }
    const total = units(d, state.approvedImpact[d.key]) + units(d, amount);
    if (total > units(d, perTask)) {
      const shown = d.integer ? total : total / MICROS_PER_USD;
      overTask.push(
        `approved ${state.approvedImpact[d.key]} + impact.${d.key}=${amount} = ${shown} exceeds limits.${d.perTask}=${perTask}`,
      );
    }
  }
  if (overAction.length === 0 && overTask.length === 0) return { outcome: 'allow' };
  const code =
    overAction.length > 0 ? GuardReasonCodes.magnitudePerActionExceeded : GuardReasonCodes.magnitudePerTaskExceeded;
  const outcome = state.task.risk.onMagnitudeExceeded === 'escalate' ? 'escalate' : 'deny';
  return { outcome, code, detail: truncate([...overAction, ...overTask].join('; ')) };
}
