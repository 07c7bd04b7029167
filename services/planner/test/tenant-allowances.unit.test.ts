import { describe, expect, it } from 'vitest';
import { TenantAllowances, type BudgetLimit, type TenantHold } from '../src/index.js';
import { MemoryOwner } from './fixtures/memory-owner.js';

const limit: BudgetLimit = { tokens: 10_000, microUsd: 1_000_000 };
const settings = { size: { tokens: 3_000, microUsd: 300_000 }, usableMs: 60_000, idleMs: 5_000 };

function setUp(over: Partial<typeof settings> = {}) {
  const owner = new MemoryOwner();
  let nowMs = 0;
  let n = 0;
  const allowances = new TenantAllowances(
    owner,
    { ...settings, ...over },
    { now: () => nowMs, newId: () => String(++n) },
  );
  const reserve = async (tokens: number, microUsd = tokens * 10, tenantId = 'ten'): Promise<TenantHold> => {
    const r = await allowances.reserve({ tenantId, tokens, microUsd, limit });
    if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.refusal)}`);
    return r.hold;
  };
  return { owner, allowances, reserve, advance: (ms: number) => (nowMs += ms) };
}

describe('tenant budgets by allowance (ADR 0031)', () => {
  it('takes one allowance of the configured size and holds calls on it in memory', async () => {
    const { owner, allowances, reserve } = setUp();
    const a = await reserve(1_000);
    const b = await reserve(1_000);
    expect(owner.takes).toHaveLength(1);
    expect(owner.takes[0]).toEqual({ min: { tokens: 1_000, microUsd: 10_000 }, want: settings.size });
    expect(owner.committed).toEqual(settings.size);
    await allowances.settle(a, { tokens: 400, microUsd: 4_000 });
    await allowances.settle(a, { tokens: 400, microUsd: 4_000 }); // a second settle of one hold changes nothing
    expect(allowances.allowanceOf('ten')).toEqual({
      granted: settings.size,
      spent: { tokens: 400, microUsd: 4_000 },
      held: { tokens: 1_000, microUsd: 10_000 },
    });
    await allowances.settle(b, { tokens: 0, microUsd: 0 });
    expect(owner.gives, 'nothing goes to the owner while the allowance lasts').toHaveLength(0);
  });

  it('takes a new allowance when short, giving back the unspent part of the last one', async () => {
    const { owner, allowances, reserve } = setUp();
    await allowances.settle(await reserve(2_000), { tokens: 1_500, microUsd: 15_000 });
    const inFlight = await reserve(1_000); // 1,500 spent + 1,000 held of 3,000: 500 left
    expect(owner.takes).toHaveLength(1);
    const big = await reserve(4_000, 40_000); // more than the configured size: an allowance of what it needs
    expect(owner.takes[1]!.want).toEqual({ tokens: 4_000, microUsd: 300_000 });
    expect(allowances.allowanceOf('ten')!.granted).toEqual({ tokens: 4_000, microUsd: 300_000 });
    // the first allowance has a call in flight: it goes back when that call settles, charged what it spent
    expect(owner.gives).toHaveLength(0);
    expect(owner.committed).toEqual({ tokens: 7_000, microUsd: 600_000 });
    await allowances.settle(big, { tokens: 100, microUsd: 1_000 });
    expect(owner.gives).toHaveLength(0);
    await allowances.settle(inFlight, { tokens: 800, microUsd: 8_000 });
    expect(owner.gives).toEqual([{ leaseId: 'lease-1', used: { tokens: 2_300, microUsd: 23_000 } }]);
    expect(owner.committed).toEqual({ tokens: 2_300 + 4_000, microUsd: 23_000 + 300_000 });
  });

  it('gives the short allowance back before taking the next when nothing is in flight on it', async () => {
    const { owner, allowances, reserve } = setUp();
    await allowances.settle(await reserve(2_500), { tokens: 2_000, microUsd: 20_000 });
    await reserve(1_500);
    expect(owner.gives).toEqual([{ leaseId: 'lease-1', used: { tokens: 2_000, microUsd: 20_000 } }]);
    expect(owner.committed).toEqual({ tokens: 2_000 + 3_000, microUsd: 20_000 + 300_000 });
  });

  it('gives a retiring allowance back when its last call settles, at what it spent', async () => {
    const { owner, allowances, reserve } = setUp();
    const inFlight = await reserve(2_500);
    await reserve(1_500); // short: the first retires with a call in flight
    expect(owner.gives).toHaveLength(0);
    await allowances.settle(inFlight, { tokens: 700, microUsd: 7_000 });
    expect(owner.gives).toEqual([{ leaseId: 'lease-1', used: { tokens: 700, microUsd: 7_000 } }]);
    expect(owner.committed).toEqual({ tokens: 700 + 3_000, microUsd: 7_000 + 300_000 });
  });

  it('caps an allowance at what the tenant has left, and refuses only when less than the call needs is left', async () => {
    const { owner, allowances, reserve } = setUp({ size: { tokens: 6_000, microUsd: 600_000 } });
    await allowances.settle(await reserve(5_000), { tokens: 5_000, microUsd: 50_000 });
    // 1,000 left of the first allowance, 4,000 of the tenant: the next allowance is what is left
    await reserve(2_000);
    expect(allowances.allowanceOf('ten')!.granted.tokens).toBe(5_000);
    // another replica's view: the owner has 10,000 committed now (5,000 used, 5,000 granted)
    expect(owner.committed.tokens).toBe(10_000);
    const refused = await allowances.reserve({ tenantId: 'ten', tokens: 3_500, microUsd: 1, limit });
    // 3,000 left of this allowance is not enough, and it has a call in flight: the owner has nothing left
    expect(refused).toEqual({
      ok: false,
      refusal: { budget: 'tenant_tokens', limit: 10_000, used: 10_000, requested: 3_500 },
    });
  });

  it("refuses on the owner's figures, counting other replicas' allowances (the trade-off: an early refusal)", async () => {
    const owner = new MemoryOwner();
    const [a, b] = [0, 1].map(
      (i) =>
        new TenantAllowances(owner, { ...settings, size: { tokens: 6_000, microUsd: 1 } }, { newId: () => `${i}` }),
    );
    const first = await a!.reserve({ tenantId: 'ten', tokens: 1_000, microUsd: 1, limit });
    expect(first.ok).toBe(true);
    // a holds 6,000 of which 5,000 unspent; b needs 5,000 and only 4,000 is left at the owner
    const second = await b!.reserve({ tenantId: 'ten', tokens: 5_000, microUsd: 1, limit });
    expect(second).toMatchObject({ ok: false, refusal: { budget: 'tenant_tokens', used: 6_000, requested: 5_000 } });
    // once a gives its allowance back (idle, close), b is granted
    await a!.close();
    expect((await b!.reserve({ tenantId: 'ten', tokens: 5_000, microUsd: 1, limit })).ok).toBe(true);
  });

  it('refuses on cost as on tokens, in USD', async () => {
    const { allowances } = setUp();
    const r = await allowances.reserve({ tenantId: 'ten', tokens: 1, microUsd: 1_500_000, limit });
    expect(r).toEqual({ ok: false, refusal: { budget: 'tenant_cost', limit: 1, used: 0, requested: 1.5 } });
  });

  it('never lets the tenant spend past its limit, however calls and allowances interleave', async () => {
    const owner = new MemoryOwner();
    const replicas = [0, 1, 2].map(
      (i) =>
        new TenantAllowances(
          owner,
          { ...settings, size: { tokens: 1_700, microUsd: 100 } },
          { newId: () => `${i}-${Math.random()}` },
        ),
    );
    let spent = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const replica = replicas[i % 3]!;
        const r = await replica.reserve({ tenantId: 'ten', tokens: 400, microUsd: 1, limit });
        if (!r.ok) return;
        await new Promise((resolve) => setTimeout(resolve, i % 4));
        spent += 390;
        await replica.settle(r.hold, { tokens: 390, microUsd: 1 });
      }),
    );
    await Promise.all(replicas.map((r) => r.close()));
    expect(spent).toBeLessThanOrEqual(limit.tokens);
    expect(spent).toBeGreaterThan(limit.tokens / 2);
    expect(owner.used.tokens).toBe(spent);
    expect(owner.committed.tokens).toBe(spent);
    expect(owner.open.size).toBe(0);
  });

  it('gives an idle allowance back, and one past its usable time, but not one with a call in flight', async () => {
    const { owner, allowances, reserve, advance } = setUp();
    await allowances.settle(await reserve(1_000, 1_000, 'idle'), { tokens: 600, microUsd: 600 });
    const busy = await reserve(1_000, 1_000, 'busy');
    advance(4_000);
    expect(await allowances.returnIdle()).toBe(0);
    advance(1_000);
    expect(await allowances.returnIdle()).toBe(1);
    expect(owner.gives).toEqual([{ leaseId: 'lease-1', used: { tokens: 600, microUsd: 600 } }]);
    advance(60_000);
    expect(await allowances.returnIdle(), 'a call in flight keeps it').toBe(0);
    await allowances.settle(busy, { tokens: 10, microUsd: 10 });
    expect(await allowances.returnIdle(), 'past its usable time').toBe(1);
    expect(owner.committed).toEqual({ tokens: 610, microUsd: 610 });
    // a call after that takes a new allowance
    await reserve(1_000, 1_000, 'idle');
    expect(owner.takes).toHaveLength(3);
  });

  it('takes a new allowance for a call past the usable time of the current one', async () => {
    const { owner, reserve, advance } = setUp();
    await reserve(100);
    advance(60_000);
    await reserve(100);
    expect(owner.takes).toHaveLength(2);
  });

  it('at close gives everything back, charging calls in flight in full; later calls take only what they need', async () => {
    const { owner, allowances, reserve } = setUp();
    await allowances.settle(await reserve(1_000), { tokens: 300, microUsd: 3_000 });
    const inFlight = await reserve(1_000);
    await allowances.close();
    expect(owner.gives).toEqual([{ leaseId: 'lease-1', used: { tokens: 1_300, microUsd: 13_000 } }]);
    await allowances.settle(inFlight, { tokens: 5, microUsd: 5 }); // late: changes nothing
    expect(owner.committed).toEqual({ tokens: 1_300, microUsd: 13_000 });
    const late = await reserve(200);
    expect(owner.takes.at(-1)!.want).toEqual({ tokens: 200, microUsd: 2_000 });
    await allowances.settle(late, { tokens: 50, microUsd: 500 });
    expect(owner.committed).toEqual({ tokens: 1_350, microUsd: 13_500 });
  });

  it("a crashed process's allowance is never given back: the owner's sweep charges it in full", async () => {
    const { owner, allowances, reserve } = setUp();
    await allowances.settle(await reserve(1_000), { tokens: 300, microUsd: 3_000 });
    owner.expireAll(); // the process is gone; nothing gave the allowance back
    expect(owner.used).toEqual(settings.size);
    expect(owner.committed).toEqual(settings.size);
  });

  it('never throws when the owner cannot take an allowance back: it reports it, and the sweep charges it in full', async () => {
    const owner = new MemoryOwner();
    owner.give = () => Promise.reject(new Error('MongoDB is down'));
    const errors: string[] = [];
    const allowances = new TenantAllowances(owner, settings, {
      onError: (error, grant) => errors.push(`${grant.leaseId}: ${(error as Error).message}`),
      newId: () => '1',
    });
    const r = await allowances.reserve({ tenantId: 'ten', tokens: 100, microUsd: 1, limit });
    if (!r.ok) throw new Error('refused');
    await allowances.settle(r.hold, { tokens: 50, microUsd: 1 });
    await allowances.close();
    expect(errors).toEqual(['lease-1: MongoDB is down']);
    expect(owner.committed, 'still held in full at the owner').toEqual(settings.size);
  });
});
