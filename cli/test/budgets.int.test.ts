import { tenantBudgetLogOf, tenantBudgetSnapshotTopic, tenantBudgetTopic } from '@warden/planner';
import { testKafka } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

describe('warden budgets', () => {
  it("prints each tenant's spend and what planners hold, folded from the tenant budget log", async () => {
    const env = testEnv('cli-budgets');
    const empty = await warden(['budgets'], env);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain(`no tenant budget recorded on ${tenantBudgetTopic(env.WARDEN_TOPIC_PREFIX!)}`);

    // A planner's log that writes a snapshot every 2 records (ADR 0035): the CLI folds from the latest.
    const log = tenantBudgetLogOf(testKafka(stack()), env.WARDEN_TOPIC_PREFIX!, {
      reservationTtlMs: 60_000,
      snapshotTopic: tenantBudgetSnapshotTopic(env.WARDEN_TOPIC_PREFIX!),
      snapshotEvery: 2,
    });
    await log.start();
    try {
      const limit = { tokens: 100_000, microUsd: 5_000_000 };
      const take = async (tenantId: string, leaseId: string, tokens: number, microUsd: number) => {
        const amount = { tokens, microUsd };
        const taken = await log.take({ tenantId, leaseId, min: amount, want: amount, limit });
        if (!taken.ok) throw new Error('refused');
        return { tenantId, leaseId, granted: taken.granted };
      };
      await log.give(await take('acme', 'a1', 5_000, 250_000), { tokens: 1_200, microUsd: 60_000 });
      await take('acme', 'a2', 5_000, 250_000); // held by a planner
      await take('globex', 'g1', 3_000, 100_000);
    } finally {
      await log.stop();
    }
    const all = await warden(['budgets'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual([
      'acme: spent 1200 tokens / 0.06 USD; held by planners 5000 tokens / 0.25 USD in 1 allowance(s); committed 6200 tokens / 0.31 USD of 100000 tokens / 5 USD',
      'globex: spent 0 tokens / 0 USD; held by planners 3000 tokens / 0.1 USD in 1 allowance(s); committed 3000 tokens / 0.1 USD of 100000 tokens / 5 USD',
    ]);
    const one = await warden(['budgets', '--tenant', 'globex', '--json'], env);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      tenants: [{ tenantId: 'globex', used: { tokens: 0 }, committed: { tokens: 3_000, microUsd: 100_000 }, open: 1 }],
    });
  });
});
