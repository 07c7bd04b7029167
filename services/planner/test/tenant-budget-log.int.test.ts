import { testKafka, waitUntil } from '@warden/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { stack, unique } from '../../../test/support/index.js';
import {
  tenantBudgetLogOf,
  tenantBudgetSnapshotTopic,
  tenantBudgetTopic,
  type Amount,
  type Grant,
  type TenantBudgetLog,
  type TenantBudgetLogOptions,
} from '../src/index.js';

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

/** A replica's view of the tenant budget log of `prefix`: started, stopped after the test. */
async function replica(
  prefix: string,
  name: string,
  reservationTtlMs = 60_000,
  options: Partial<TenantBudgetLogOptions> = {},
): Promise<TenantBudgetLog> {
  const log = tenantBudgetLogOf(testKafka(stack()), prefix, { reservationTtlMs, replicaId: name, ...options });
  stops.push(() => log.stop());
  await log.start();
  return log;
}

const amount = (tokens: number, microUsd = tokens): Amount => ({ tokens, microUsd });

describe('tenant budgets owned by the partitions of a topic keyed by tenant (ADR 0032)', () => {
  it('grants exactly what fits when two replicas race for one budget, the last grant capped at what is left', async () => {
    const prefix = unique('tbl');
    const replicas = [await replica(prefix, 'a'), await replica(prefix, 'b')];
    const limit = { tokens: 10_000, microUsd: 1_000_000_000 };
    const leases = Array.from({ length: 40 }, (_, i) => ({ tenantId: 'race', leaseId: `r${i}` }));
    const outcomes = await Promise.all(
      leases.map((lease, i) =>
        replicas[i % 2]!.take({
          ...lease,
          min: { tokens: 1_000, microUsd: 1 },
          want: { tokens: 1_500, microUsd: 1 },
          limit,
        }),
      ),
    );
    // six of 1,500, then the 1,000 left: the sum of allowances never exceeds the limit
    const grants: Grant[] = outcomes.flatMap((o, i) => (o.ok ? [{ ...leases[i]!, granted: o.granted }] : []));
    expect(grants.map((g) => g.granted.tokens).sort()).toEqual([1_000, 1_500, 1_500, 1_500, 1_500, 1_500, 1_500]);
    expect(outcomes.filter((o) => !o.ok)).toHaveLength(33);
    expect(outcomes.find((o) => !o.ok)).toEqual({ ok: false, committed: { tokens: 10_000, microUsd: 7 } });
    expect((await replicas[0]!.figures('race')).committed.tokens).toBe(10_000);
    // each goes back through either replica, charged what was used of it; both replicas agree
    await Promise.all(grants.map((g, i) => replicas[(i + 1) % 2]!.give(g, { tokens: 100, microUsd: 1 })));
    const expected = {
      tenantId: 'race',
      committed: { tokens: 700, microUsd: 7 },
      used: { tokens: 700, microUsd: 7 },
      open: 0,
      limit,
    };
    expect(await replicas[1]!.figures('race')).toEqual(expected);
    expect(await replicas[0]!.figures('race')).toEqual(expected);
    // a replica started now folds the log from the beginning to the same figures
    expect(await (await replica(prefix, 'late')).figures('race')).toEqual(expected);
  });

  it('charges an allowance a crash left open in full once its TTL passed; a late give changes nothing', async () => {
    const prefix = unique('tbl-ttl');
    const [a, b] = [await replica(prefix, 'a', 2_000), await replica(prefix, 'b', 2_000)];
    const limit = { tokens: 1_000, microUsd: 1_000_000 };
    const take = async (log: TenantBudgetLog, leaseId: string, tokens: number): Promise<Grant> => {
      const taken = await log.take({ tenantId: 'ttl', leaseId, min: amount(tokens), want: amount(tokens), limit });
      if (!taken.ok) throw new Error(`allowance ${leaseId} refused`);
      return { tenantId: 'ttl', leaseId, granted: taken.granted };
    };
    const crashed = await take(a, 'crashed', 300); // its replica dies: never given back
    const finished = await take(b, 'finished', 200);
    expect(await b.give(finished, amount(50))).toBe(true);
    expect(await b.figures('ttl')).toEqual({
      tenantId: 'ttl',
      committed: amount(350),
      used: amount(50),
      open: 1,
      limit,
    });
    await new Promise((r) => setTimeout(r, 2_500));
    // the next record of the tenant comes after the crashed allowance's TTL (by the broker's clock): charged in full
    const fresh = await take(b, 'fresh', 100);
    expect(await a.figures('ttl')).toEqual({
      tenantId: 'ttl',
      committed: amount(450),
      used: amount(350),
      open: 1,
      limit,
    });
    expect(await a.give(crashed, amount(10)), 'the crashed replica comes back late').toBe(false);
    expect(await b.give(fresh, amount(40))).toBe(true);
    expect(await a.figures('ttl')).toEqual({
      tenantId: 'ttl',
      committed: amount(390),
      used: amount(390),
      open: 0,
      limit,
    });
  });

  it('logs and skips a malformed record; the records after it fold as before', async () => {
    const prefix = unique('tbl-bad');
    const log = await replica(prefix, 'a');
    const kafka = testKafka(stack());
    const producer = kafka.producer();
    await producer.connect();
    stops.push(() => producer.disconnect());
    await producer.send({
      topic: tenantBudgetTopic(prefix),
      messages: [
        { key: 'bad', value: 'not json' },
        { key: 'bad', value: JSON.stringify({ k: 'take', lease: 'x', min: amount(-1) }) },
      ],
    });
    const limit = { tokens: 1_000, microUsd: 1_000 };
    const taken = await log.take({ tenantId: 'bad', leaseId: 'ok', min: amount(10), want: amount(10), limit });
    expect(taken).toEqual({ ok: true, granted: amount(10), committed: amount(10) });
    await waitUntil(() => log.corruptRecords() === 2, { what: 'both malformed records seen' });
    expect((await log.everyTenant()).map((t) => t.tenantId)).toEqual(['bad']);
  });

  it('starts a replica from the snapshots the others wrote, at the same figures; a corrupt snapshot: from the beginning', async () => {
    const prefix = unique('tbl-snap');
    const snapshots = { snapshotTopic: tenantBudgetSnapshotTopic(prefix), snapshotEvery: 10 };
    const [a, b] = [await replica(prefix, 'a', 60_000, snapshots), await replica(prefix, 'b', 60_000, snapshots)];
    const limit = { tokens: 1_000_000, microUsd: 1_000_000 };
    const tenants = ['t1', 't2', 't3', 't4', 't5'];
    // 30 allowances per tenant taken and given back, and one left open each (held at the restart below)
    for (let round = 0; round < 31; round++) {
      await Promise.all(
        tenants.map(async (tenantId, i) => {
          const lease = { tenantId, leaseId: `${tenantId}-${round}` };
          const outcome = await [a, b][(round + i) % 2]!.take({ ...lease, min: amount(1), want: amount(100), limit });
          if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome)}`);
          if (round < 30) await [a, b][round % 2]!.give({ ...lease, granted: outcome.granted }, amount(round + 1));
        }),
      );
    }
    const expected = await Promise.all(tenants.map((t) => a.figures(t)));
    expect(expected.map((f) => [f.used.tokens, f.open, f.committed.tokens])).toEqual(
      tenants.map(() => [465, 1, 565]), // 1 + 2 + ... + 30 used, and the open allowance's 100
    );
    await a.stop();
    await b.stop();

    const late = await replica(prefix, 'late', 60_000, snapshots);
    expect(await Promise.all(tenants.map((t) => late.figures(t)))).toEqual(expected);
    // it started past the beginning in every partition the tenants' records are in
    expect(late.startedFrom().size).toBeGreaterThan(0);
    expect([...late.startedFrom().values()].every((offset) => offset >= 10)).toBe(true);
    // and it goes on: the allowance left open is given back through it
    expect(await late.give({ tenantId: 't1', leaseId: 't1-30', granted: amount(100) }, amount(7))).toBe(true);
    expect((await late.figures('t1')).committed.tokens).toBe(472);

    // A snapshot record that does not parse: the new replica cannot trust the set and folds from the beginning.
    const kafka = testKafka(stack());
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: tenantBudgetSnapshotTopic(prefix),
      acks: -1,
      messages: [{ key: 'tenant:t9', value: '{"k":"tenant","not":"a snapshot"}', partition: 0 }],
    });
    await producer.disconnect();
    const wary = await replica(prefix, 'wary', 60_000, { ...snapshots, snapshotEvery: 0 });
    expect(wary.startedFrom().size).toBe(0);
    expect((await wary.figures('t1')).committed.tokens).toBe(472);
    expect(await wary.figures('t2')).toEqual(expected[1]);
  });

  it("writes a partition's snapshot larger than the broker's largest batch (1 MiB) in several requests", async () => {
    const prefix = unique('tbl-snap-big');
    const kafka = testKafka(stack());
    const topic = tenantBudgetTopic(prefix);
    // 4,000 tenants of one partition, each with an allowance open: about 1.3 MB of snapshots at once.
    const tenants = Array.from({ length: 4_000 }, (_, i) => `tenant-${String(i).padStart(4, '0')}-${'x'.repeat(80)}`);
    const seeder = await replica(prefix, 'seeder', 60_000, { partitions: 1 }); // creates the topic, one partition
    await seeder.stop();
    const producer = kafka.producer();
    await producer.connect();
    const one = amount(1);
    for (let i = 0; i < tenants.length; i += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: tenants.slice(i, i + 1_000).map((tenantId) => ({
          key: tenantId,
          value: JSON.stringify({
            k: 'take',
            lease: `${tenantId}-l`,
            min: one,
            want: one,
            limit: amount(10),
            ttlMs: 60_000,
          }),
        })),
      });
    }
    await producer.disconnect();
    const snapshots = { snapshotTopic: tenantBudgetSnapshotTopic(prefix), snapshotEvery: tenants.length };
    const writer = await replica(prefix, 'writer', 60_000, snapshots);
    const expected = await writer.figures(tenants[1_234]!);
    expect(expected).toMatchObject({ committed: one, open: 1 });
    await writer.stop(); // waits for the snapshot being written

    const late = await replica(prefix, 'late', 60_000, { ...snapshots, snapshotEvery: 0 });
    expect(late.startedFrom().get(0)).toBe(tenants.length);
    expect(await late.figures(tenants[1_234]!)).toEqual(expected);
    expect((await late.everyTenant()).length).toBe(tenants.length);
  });
});
