import { describe, expect, it } from 'vitest';
import type { TenantCaps } from '@warden/policy';
import { capsLookup, loadGuardConfig } from '../src/index.js';

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

describe('GUARD_TENANT_CAPS', () => {
  const env = (caps: string) => ({ GUARD_TENANT_CAPS: caps });
  it('reads a default and per-tenant caps; a tenant without an entry gets the default', () => {
    const config = loadGuardConfig(
      env(JSON.stringify({ default: caps.limits, tenants: { small: { ...caps.limits, maxRowsPerAction: 3 } } })),
    );
    const lookup = capsLookup(config.tenantCaps!);
    expect(lookup('small')?.maxRowsPerAction).toBe(3);
    expect(lookup('other')?.maxRowsPerAction).toBe(1_000);
    expect(loadGuardConfig({}).tenantCaps).toBeUndefined();
  });

  it('refuses caps that are not JSON or not complete limits, naming the problem', () => {
    expect(() => loadGuardConfig(env('{nope'))).toThrow(/GUARD_TENANT_CAPS.*not JSON/s);
    expect(() => loadGuardConfig(env(JSON.stringify({ default: { maxRowsPerAction: 3 } })))).toThrow(
      /GUARD_TENANT_CAPS.*default\.maxRowsPerTask/s,
    );
  });
});
