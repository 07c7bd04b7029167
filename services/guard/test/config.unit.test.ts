import { describe, expect, it } from 'vitest';
import { sampleTask } from '@warden/contracts/testing';
import { capsLookup, loadGuardConfig } from '../src/index.js';

const limits = sampleTask().limits;

describe('GUARD_TENANT_CAPS', () => {
  const env = (caps: string) => ({ GUARD_TENANT_CAPS: caps });
  it('reads a default and per-tenant caps; a tenant without an entry gets the default', () => {
    const config = loadGuardConfig(
      env(JSON.stringify({ default: limits, tenants: { small: { ...limits, maxRowsPerAction: 3 } } })),
    );
    const lookup = capsLookup(config.tenantCaps!);
    expect(lookup('small')?.maxRowsPerAction).toBe(3);
    expect(lookup('other')?.maxRowsPerAction).toBe(limits.maxRowsPerAction);
    expect(loadGuardConfig({}).tenantCaps).toBeUndefined();
  });

  it('refuses caps that are not JSON or not complete limits, naming the problem', () => {
    expect(() => loadGuardConfig(env('{nope'))).toThrow(/GUARD_TENANT_CAPS.*not JSON/s);
    expect(() => loadGuardConfig(env(JSON.stringify({ default: { maxRowsPerAction: 3 } })))).toThrow(
      /GUARD_TENANT_CAPS.*default\.maxRowsPerTask/s,
    );
  });
});
