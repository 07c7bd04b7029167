import { describe, expect, it } from 'vitest';
import type { MagnitudeLimits } from '@warden/contracts';
import {
  GuardErrorCodes,
  TaskLimitsInvalidError,
  capLimits,
  validateTaskLimits,
  type TenantCaps,
} from '../src/index.js';
import { baseTaskInput } from './helpers.js';

const caps: TenantCaps = {
  limits: {
    maxRowsPerAction: 1_000,
    maxRowsPerTask: 10_000,
    maxFilesPerAction: 100,
    maxFilesPerTask: 1_000,
    maxRecipientsPerAction: 50,
    maxRecipientsPerTask: 500,
    maxMoneyUsdPerAction: 500,
    maxMoneyUsdPerTask: 5_000,
  },
  budgets: { maxCostUsd: 20 },
};

function withLimit(key: keyof MagnitudeLimits, value: unknown): Record<string, unknown> {
  const task = baseTaskInput();
  const limits = task.limits as Record<string, unknown>;
  if (value === undefined) delete limits[key];
  else limits[key] = value;
  return task;
}

describe('validateTaskLimits', () => {
  it('accepts a task within the tenant caps', () => {
    const result = validateTaskLimits(baseTaskInput(), caps);
    expect(result.ok).toBe(true);
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['missing', undefined],
    ['absurd (1e12)', 1e12],
    ['fractional rows', 10.5],
    ['a string', '100'],
  ])('refuses a %s limit, naming it', (_name, value) => {
    const result = validateTaskLimits(withLimit('maxRowsPerAction', value), caps);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toContain('limits.maxRowsPerAction');
    expect(result.error).toBeInstanceOf(TaskLimitsInvalidError);
    expect(result.error.code).toBe(GuardErrorCodes.limitsInvalid);
    expect(result.error.retryable).toBe(false);
  });

  it('refuses a limit above the tenant cap, and accepts one exactly at it', () => {
    const over = validateTaskLimits(withLimit('maxMoneyUsdPerAction', 500.01), caps);
    expect(over.ok).toBe(false);
    if (!over.ok)
      expect(over.issues).toContainEqual({
        path: 'limits.maxMoneyUsdPerAction',
        message: "500.01 is above the tenant's cap 500",
      });
    const atCap = baseTaskInput();
    Object.assign(atCap.limits as object, { maxMoneyUsdPerAction: 500, maxMoneyUsdPerTask: 5_000 });
    expect(validateTaskLimits(atCap, caps).ok).toBe(true);
  });

  it('refuses a per-action limit above its per-task limit', () => {
    const task = baseTaskInput();
    Object.assign(task.limits as object, { maxRowsPerAction: 600, maxRowsPerTask: 500 });
    const result = validateTaskLimits(task, caps);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual({
        path: 'limits.maxRowsPerAction',
        message: '600 is above limits.maxRowsPerTask=500',
      });
  });

  it('refuses a budget above the tenant budget cap', () => {
    const task = baseTaskInput();
    (task.budgets as Record<string, unknown>).maxCostUsd = 25;
    const result = validateTaskLimits(task, caps);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual(['budgets.maxCostUsd']);
  });

  it('refuses everything when the tenant caps themselves are invalid (fail closed)', () => {
    const broken: TenantCaps = { limits: { ...caps.limits, maxRowsPerTask: Number.NaN } };
    const result = validateTaskLimits(baseTaskInput(), broken);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.path).toBe('tenantCaps.limits.maxRowsPerTask');
  });

  it('lists every problem in one error message', () => {
    const task = withLimit('maxRowsPerAction', 0);
    (task.limits as Record<string, unknown>).maxFilesPerTask = -1;
    const result = validateTaskLimits(task, caps);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain('limits.maxRowsPerAction');
      expect(result.error.message).toContain('limits.maxFilesPerTask');
    }
  });
});

describe('capLimits', () => {
  it('keeps limits within the caps and lowers each one above, naming it', () => {
    const asked = { ...caps.limits, maxRowsPerAction: 5_000, maxMoneyUsdPerTask: 4_000 };
    const { limits, lowered } = capLimits(asked, caps.limits);
    expect(limits).toEqual({ ...caps.limits, maxMoneyUsdPerTask: 4_000 });
    expect(lowered).toEqual([{ limit: 'maxRowsPerAction', requested: 5_000, cap: 1_000 }]);
    expect(capLimits(caps.limits, caps.limits).lowered).toEqual([]);
  });
});
