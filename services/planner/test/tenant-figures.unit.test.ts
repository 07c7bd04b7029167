import { describe, expect, it } from 'vitest';
import { BudgetLogFold, TenantBudgetSnapshotRecord, TenantFigures, type TenantBudgetRecord } from '../src/index.js';

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

  it('counts spend carried over from a source once, as spent: later takes see it, a second carry of it changes nothing', () => {
    const f = new TenantFigures();
    const carry = (source: string, tokens: number): TenantBudgetRecord => ({
      k: 'carry',
      source,
      spent: { tokens, microUsd: 500 },
    });
    expect(f.apply(carry('planner_budget_log', 9_000), 1)).toBe(true);
    expect(f.apply(carry('planner_budget_log', 9_000), 2)).toBe(false); // a second run, or a run at the same time
    expect(f.used()).toEqual({ tokens: 9_000, microUsd: 500 });
    expect(f.carried()).toEqual(['planner_budget_log']);
    expect(f.apply(take('over', 1_500, { min: 1_001 }), 3)).toEqual({
      ok: false,
      committed: { tokens: 9_000, microUsd: 500 },
    });
    expect(f.apply(take('fits', 1_500, { min: 1_000 }), 4)).toMatchObject({ ok: true, granted: { tokens: 1_000 } });
    expect(f.apply(carry('another-store', 10), 5)).toBe(true);
    expect(f.used()).toEqual({ tokens: 9_010, microUsd: 1_000 });
    // the sources carried survive a snapshot: a replica restored from it does not count them again
    const restored = TenantFigures.restored(f.snapshot());
    expect(restored.apply(carry('planner_budget_log', 9_000), 6)).toBe(false);
    expect(restored.used()).toEqual(f.used());
    expect(restored.carried()).toEqual(['planner_budget_log', 'another-store']);
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

describe('the fold of the tenant budget topic (BudgetLogFold)', () => {
  const at = (partition: number, offset: number, tenantId: string | undefined, value: unknown, ms: number) => ({
    partition,
    offset: String(offset),
    tenantId,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: String(ms),
  });

  it('folds each partition once: a reader that reads from the beginning again grants nothing twice', () => {
    const fold = new BudgetLogFold();
    const records = [
      at(0, 0, 'a', take('l1', 1_000), 1),
      at(0, 1, 'a', give('l1', 100), 2),
      at(1, 0, 'b', take('l2', 500), 3),
    ];
    expect(records.map((r) => fold.apply(r).kind)).toEqual(['applied', 'applied', 'applied']);
    // kafkajs restarted the consumer: it reads both partitions from offset 0 again
    expect(records.map((r) => fold.apply(r).kind)).toEqual(['seen', 'seen', 'seen']);
    expect(fold.figures('a').committed()).toEqual({ tokens: 100, microUsd: 1 });
    expect(fold.figures('b').committed()).toEqual({ tokens: 500, microUsd: 1 });
    expect([fold.position(0), fold.position(1), fold.position(2)]).toEqual([2, 1, 0]);
    expect(fold.apply(at(0, 2, 'a', take('l3', 10), 4))).toEqual({
      kind: 'applied',
      key: 'take:l3',
      outcome: { ok: true, granted: { tokens: 10, microUsd: 1 }, committed: { tokens: 110, microUsd: 2 } },
    });
  });

  it("answers a carry under its tenant and source (two tenants' carries of one source are two answers)", () => {
    const fold = new BudgetLogFold();
    const carry = { k: 'carry', source: 'planner_budget_log', spent: { tokens: 5, microUsd: 1 } };
    expect(fold.apply(at(0, 0, 'a', carry, 1))).toEqual({
      kind: 'applied',
      key: 'carry:a:planner_budget_log',
      outcome: true,
    });
    expect(fold.apply(at(1, 0, 'b', carry, 1))).toMatchObject({ key: 'carry:b:planner_budget_log', outcome: true });
    expect(fold.apply(at(0, 1, 'a', carry, 2))).toMatchObject({ key: 'carry:a:planner_budget_log', outcome: false });
    expect(fold.apply(at(0, 2, 'a', { k: 'carry', source: '', spent: { tokens: 1, microUsd: 0 } }, 3)).kind).toBe(
      'malformed',
    );
    expect(fold.figures('a').used()).toEqual({ tokens: 5, microUsd: 1 });
  });

  it('reports a record that is not JSON, not a take or give, or has no tenant as malformed, and moves past it', () => {
    const fold = new BudgetLogFold();
    expect(fold.apply(at(0, 0, 'a', 'not json', 1)).kind).toBe('malformed');
    expect(fold.apply(at(0, 1, 'a', { k: 'take', lease: 'x' }, 1)).kind).toBe('malformed');
    expect(fold.apply(at(0, 2, undefined, take('l', 1), 1)).kind).toBe('malformed');
    expect(fold.position(0)).toBe(3);
    expect(fold.figures('a').open()).toBe(0);
  });

  /** 3 tenants over 2 partitions: takes and gives, some allowances left to expire (TTL 300 ms), records 10 ms apart. */
  function history(n: number) {
    const records = [];
    const offsets = [0, 0];
    for (let i = 0; i < n; i++) {
      const tenantId = ['a', 'b', 'c'][i % 3]!;
      const partition = tenantId === 'b' ? 1 : 0;
      const record =
        i % 4 === 3 ? give(`l${i - 3}`, i % 50) : take(`l${i}`, 100 + (i % 7) * 100, { min: 50, ttlMs: 300 });
      records.push(at(partition, offsets[partition]!++, tenantId, record, i * 10));
    }
    return records;
  }
  const figuresOf = (fold: BudgetLogFold) =>
    ['a', 'b', 'c'].map((t) => ({ t, committed: fold.figures(t).committed(), used: fold.figures(t).used() }));

  it('restored from snapshots at any point, folds the rest to the same outcomes and figures as a fold of all (ADR 0035)', () => {
    const records = history(400);
    const whole = new BudgetLogFold();
    const wholeOutcomes = records.map((r) => whole.apply(r));
    for (const cut of [0, 1, 57, 200, 399, 400]) {
      const first = new BudgetLogFold();
      for (const r of records.slice(0, cut)) first.apply(r);
      // Written as JSON, read back through the schema, as a starting replica reads them.
      const snapshots = [...first.snapshotOf(0), ...first.snapshotOf(1)].map((r) =>
        TenantBudgetSnapshotRecord.parse(JSON.parse(JSON.stringify(r))),
      );
      const restored = new BudgetLogFold();
      const starts = restored.restore(snapshots);
      expect([starts.get(0), starts.get(1)]).toEqual([first.position(0), first.position(1)]);
      // The reader may still deliver records before the start (a seek not yet applied): they count as seen.
      const outcomes = records.map((r) => restored.apply(r));
      expect(outcomes.slice(cut).filter((o) => o.kind === 'applied')).toEqual(
        wholeOutcomes.slice(cut).filter((o) => o.kind === 'applied'),
      );
      expect(outcomes.slice(0, cut).every((o) => o.kind === 'seen')).toBe(true);
      expect(figuresOf(restored)).toEqual(figuresOf(whole));
    }
    expect(wholeOutcomes.some((o) => o.kind === 'applied' && typeof o.outcome === 'object' && !o.outcome.ok)).toBe(
      true,
    );
  });

  it("starts a partition at the earliest of its mark and its tenants' snapshots; without a mark, from the beginning", () => {
    const records = history(120).filter((r) => r.partition === 0); // tenants a and c
    const whole = new BudgetLogFold();
    for (const r of records) whole.apply(r);
    const at40 = new BudgetLogFold();
    for (const r of records.slice(0, 40)) at40.apply(r);
    const at60 = new BudgetLogFold();
    for (const r of records.slice(0, 60)) at60.apply(r);
    // Two replicas' snapshots interleaved: the latest of each key is a's at 40 (a slower replica wrote it last), c's
    // and the mark at 60.
    const a40 = at40.snapshotOf(0).find((r) => r.k === 'tenant' && r.tenantId === 'a')!;
    const rest60 = at60.snapshotOf(0).filter((r) => !(r.k === 'tenant' && r.tenantId === 'a'));
    const restored = new BudgetLogFold();
    expect(restored.restore([a40, ...rest60]).get(0)).toBe(40);
    for (const r of records) restored.apply(r);
    expect(figuresOf(restored)).toEqual(figuresOf(whole));
    // Tenants' snapshots without their partition's mark (the writer stopped before it): not used.
    const unmarked = new BudgetLogFold();
    expect(unmarked.restore(at60.snapshotOf(0).filter((r) => r.k === 'tenant')).size).toBe(0);
    expect(unmarked.tenantIds()).toEqual([]);
    for (const r of records) unmarked.apply(r);
    expect(figuresOf(unmarked)).toEqual(figuresOf(whole));
  });
});
