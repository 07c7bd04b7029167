import { MagnitudeLimits, eventDataSchemas, type Budgets, type ValidationIssue } from '@warden/contracts';
import { TaskLimitsInvalidError } from './errors.js';
import { formatPath } from './format.js';
import { impactDimensions } from './magnitude.js';
import type { TaskData } from './types.js';

/** A tenant's own caps: no task of the tenant may ask for more. */
export interface TenantCaps {
  /** Caps on each magnitude limit. */
  readonly limits: MagnitudeLimits;
  /** Caps on each budget, when the tenant has them. */
  readonly budgets?: Partial<Budgets>;
}

/** The outcome of validating a task's limits. */
export type TaskLimitsValidation =
  | { readonly ok: true; readonly task: TaskData }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[]; readonly error: TaskLimitsInvalidError };

/**
 * Validates a submitted task's limits before any of its actions is judged. Refuses, listing every problem:
 * a missing, zero, negative, NaN, infinite or absurdly large limit (the contracts' TaskSubmitted schema); a limit
 * above the tenant's cap; a per-action limit above its per-task limit; a budget above the tenant's budget cap.
 * Invalid tenant caps refuse everything (fail closed).
 */
export function validateTaskLimits(task: unknown, caps: TenantCaps): TaskLimitsValidation {
  const issues: ValidationIssue[] = [];
  const refuse = (): TaskLimitsValidation => ({
    ok: false,
    issues,
    error: new TaskLimitsInvalidError('task limits refused', issues),
  });

  const capsParsed = MagnitudeLimits.safeParse(caps.limits);
  if (!capsParsed.success) {
    for (const i of capsParsed.error.issues)
      issues.push({ path: formatPath('tenantCaps.limits', i.path), message: i.message });
    return refuse();
  }
  const parsed = eventDataSchemas.TaskSubmitted.safeParse(task);
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: formatPath('', i.path), message: i.message });
    return refuse();
  }
  const data = parsed.data;
  const cap = capsParsed.data;
  for (const key of Object.keys(cap) as (keyof MagnitudeLimits)[]) {
    if (data.limits[key] > cap[key]) {
      issues.push({ path: `limits.${key}`, message: `${data.limits[key]} is above the tenant's cap ${cap[key]}` });
    }
  }
  for (const d of impactDimensions) {
    if (data.limits[d.perAction] > data.limits[d.perTask]) {
      issues.push({
        path: `limits.${d.perAction}`,
        message: `${data.limits[d.perAction]} is above limits.${d.perTask}=${data.limits[d.perTask]}`,
      });
    }
  }
  for (const [key, capValue] of Object.entries(caps.budgets ?? {}) as [keyof Budgets, number | undefined][]) {
    if (capValue === undefined) continue;
    if (!(typeof capValue === 'number' && Number.isFinite(capValue) && capValue > 0)) {
      issues.push({ path: `tenantCaps.budgets.${key}`, message: `${String(capValue)} is not a positive cap` });
    } else if (data.budgets[key] > capValue) {
      issues.push({ path: `budgets.${key}`, message: `${data.budgets[key]} is above the tenant's cap ${capValue}` });
    }
  }
  return issues.length === 0 ? { ok: true, task: data } : refuse();
}

/** One magnitude limit a task asked for above its tenant's cap. */
export interface LoweredLimit {
  readonly limit: keyof MagnitudeLimits;
  readonly requested: number;
  readonly cap: number;
}

/**
 * A task's magnitude limits within its tenant's caps: each limit is the lower of the two (a TaskSubmitted may
 * lower a limit, never lift it past the tenant's cap). Pure. `lowered` lists what was cut.
 */
export function capLimits(
  limits: MagnitudeLimits,
  cap: MagnitudeLimits,
): { readonly limits: MagnitudeLimits; readonly lowered: readonly LoweredLimit[] } {
  const out = { ...limits };
  const lowered: LoweredLimit[] = [];
  for (const key of Object.keys(cap) as (keyof MagnitudeLimits)[]) {
    if (limits[key] > cap[key]) {
      lowered.push({ limit: key, requested: limits[key], cap: cap[key] });
      out[key] = cap[key];
    }
  }
  return { limits: out, lowered };
}
