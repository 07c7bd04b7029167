import { describe, expect, it } from 'vitest';
import { TenantFigures, type TenantBudgetRecord } from '../src/index.js';

const limit = { tokens: 10_000, microUsd: 1_000 };
const take = (lease: string, tokens: number, opts: { min?: number; ttlMs?: number } = {}): TenantBudgetRecord => ({
  k: 'take',
  lease,
  min: { tokens: opts.min ?? tokens, microUsd: 1 },
  want: { tokens, microUsd: 1 },
  limit,
  ttlMs: opts.ttlMs ?? 60_000,
});
const give = (lease: string, tokens: number): TenantBudgetRecord => ({
  k: 'give',
  lease,
  used: { tokens, microUsd: 1 },
});

describe("a tenant's figures folded from its budget records in log order (ADR 0032)", () => {
  it('grants what fits, caps the last grant at what is left, then refuses with the committed figures', () => {
    const f = new TenantFigures();
    const outcomes = Array.from({ length: 8 }, (_, i) => f.apply(take(`l${i}`, 1_500, { min: 1_000 }), 1_000 + i));
    expect(outcomes.slice(0, 6).map((o) => typeof o === 'object' && o.ok && o.granted.tokens)).toEqual([
      1_500, 1_500, 1_500, 1_500, 1_500, 1_500,
    ]);
    expect(outcomes[6]).toEqual({
      ok: true,
      granted: { tokens: 1_000, microUsd: 1 },
      committed: { tokens: 10_000, microUsd: 7 },
    });
    expect(outcomes[7]).toEqual({ ok: false, committed: { tokens: 10_000, microUsd: 7 } });
    // each allowance goes back charged what it was used for: committed falls to what was spent
    for (let i = 0; i < 7; i++) expect(f.apply(give(`l${i}`, 100), 2_000)).toBe(true);
    expect(f.committed()).toEqual({ tokens: 700, microUsd: 7 });
    expect(f.used()).toEqual({ tokens: 700, microUsd: 7 });
    expect(f.open()).toBe(0);
  });

  it('takes a lease once and gives it back once', () => {
    const f = new TenantFigures();
    expect(f.apply(take('a', 1_000), 1)).toMatchObject({ ok: true });
    expect(f.apply(take('a', 1_000), 2)).toEqual({ ok: false, committed: { tokens: 1_000, microUsd: 1 } });
    expect(f.apply(give('a', 10), 3)).toBe(true);
    expect(f.apply(give('a', 10), 4)).toBe(false);
    expect(f.apply(give('never-taken', 10), 5)).toBe(false);
    expect(f.committed()).toEqual({ tokens: 10, microUsd: 1 });
  });

  it('charges an allowance not given back by its TTL in full at the first record after it; a late give changes nothing', () => {
    const f = new TenantFigures();
    f.apply(take('crashed', 3_000, { ttlMs: 1_000 }), 0);
    f.apply(take('finished', 2_000, { ttlMs: 1_000 }), 10);
    expect(f.apply(give('finished', 500), 500)).toBe(true);
    expect(f.apply(take('fresh', 1_000, { ttlMs: 1_000 }), 999)).toMatchObject({ ok: true }); // crashed: not due yet
    expect(f.open()).toBe(2);
    expect(f.apply(take('later', 100, { ttlMs: 1_000 }), 1_000)).toMatchObject({ ok: true }); // crashed: due now
    expect(f.used()).toEqual({ tokens: 3_000 + 500, microUsd: 2 });
    expect(f.committed()).toEqual({ tokens: 3_000 + 500 + 1_000 + 100, microUsd: 4 });
    expect(f.apply(give('crashed', 1), 1_001)).toBe(false);
    expect(f.used()).toEqual({ tokens: 3_500, microUsd: 2 });
  });

  it('gives every reader of the same records the same outcomes', () => {
    const records: Array<[TenantBudgetRecord, number]> = [];
    for (let i = 0; i < 200; i++) {
      records.push([take(`t${i}`, 100 + ((i * 37) % 900), { min: 50, ttlMs: 500 }), i * 10]);
      if (i % 3 === 0) records.push([give(`t${i - 1}`, (i * 13) % 50), i * 10 + 5]); // never more than granted
    }
    const fold = () => {
      const f = new TenantFigures();
      return { outcomes: records.map(([r, at]) => f.apply(r, at)), committed: f.committed(), used: f.used() };
    };
    const [a, b] = [fold(), fold()];
    expect(b).toEqual(a);
    expect(a.outcomes.some((o) => typeof o === 'object' && !o.ok)).toBe(true);
    expect(a.committed.tokens).toBeLessThanOrEqual(limit.tokens);
  });
});
