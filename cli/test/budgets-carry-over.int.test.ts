import { Writable } from 'node:stream';
import {
  LEGACY_BUDGET_COLLECTION,
  tenantBudgetLogOf,
  tenantBudgetTopic,
  warnOfUncarriedLegacySpend,
} from '@warden/planner';
import { testKafka } from '@warden/runtime/testing';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

/** An entry of the planners' budget log from before ADR 0032, as its BudgetStore wrote them. */
const entry = (scope: string, seq: number, committed: [number, number], used: [number, number], kind: string) => ({
  _id: `${scope}#${String(seq).padStart(12, '0')}`,
  scope,
  seq,
  committedTokens: committed[0],
  committedMicroUsd: committed[1],
  usedTokens: used[0],
  usedMicroUsd: used[1],
  kind,
  ref: `r${seq}`,
  closeKey: `${scope}#${seq}`,
});

describe('warden budgets carry-over', () => {
  let mongo: MongoClient;
  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
  });
  afterAll(() => mongo.close());

  const seed = async (db: Db): Promise<void> => {
    await db.collection<{ _id: string; [field: string]: unknown }>(LEGACY_BUDGET_COLLECTION).insertMany([
      // acme: a reservation settled for less, then one still open at the upgrade (its planner is gone)
      entry('tenant:acme', 1, [5_000, 250_000], [0, 0], 'reserve'),
      entry('tenant:acme', 2, [1_200, 60_000], [1_200, 60_000], 'settle'),
      entry('tenant:acme', 3, [6_200, 310_000], [1_200, 60_000], 'reserve'),
      entry('tenant:globex', 1, [3_000, 100_000], [0, 0], 'reserve'),
      entry('tenant:globex', 2, [700, 20_000], [700, 20_000], 'settle'),
      // a task's budget from before ADR 0031: in task state now, not carried
      entry('task:t-1', 1, [900, 9_000], [900, 9_000], 'settle'),
    ]);
  };

  it("carries each tenant's spend once, open reservations in full; a dry run writes nothing; the planner warns until it is done", async () => {
    const env = testEnv('cli-carry-over');
    const db = mongo.db(env.MONGO_DB);
    await seed(db);
    const prefix = env.WARDEN_TOPIC_PREFIX!;

    const dry = await warden(['budgets', 'carry-over', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('6 entries, 2 tenant(s) with spend');
    expect(dry.stdout.trim().split('\n')).toEqual([
      'acme: would carry 6200 tokens / 0.31 USD (settled 1200 tokens / 0.06 USD; reservations open at the upgrade in full)',
      'globex: would carry 700 tokens / 0.02 USD (settled 700 tokens / 0.02 USD; reservations open at the upgrade in full)',
      `dry run: would carry 2 tenant(s) into ${tenantBudgetTopic(prefix)}, 0 carried already`,
    ]);
    const afterDry = await warden(['budgets', '--json'], env);
    expect(JSON.parse(afterDry.stdout).tenants).toEqual([]);

    // What a starting planner logs while the old spend is not carried.
    const warnings: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({ write: (chunk: Buffer, _e, done) => (warnings.push(chunk.toString()), done()) }),
    );
    const log = tenantBudgetLogOf(testKafka(stack()), prefix, { reservationTtlMs: 60_000 });
    await log.start();
    try {
      await warnOfUncarriedLegacySpend(db, log, logger);
      expect(warnings.join('')).toContain('run `warden budgets carry-over` once');

      const run = await warden(['budgets', 'carry-over'], env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('acme: carried 6200 tokens / 0.31 USD');
      expect(run.stdout).toContain(`carried 2 tenant(s) into ${tenantBudgetTopic(prefix)}, 0 carried already`);
      const again = await warden(['budgets', 'carry-over', '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      const { tenants } = JSON.parse(again.stdout) as { tenants: Array<{ outcome: string }> };
      expect(tenants.map((t) => t.outcome)).toEqual(['already carried', 'already carried']);

      // Counted once, as spent: a take beyond what is left of a 7,000-token limit is refused.
      expect(await log.figures('acme')).toMatchObject({
        used: { tokens: 6_200, microUsd: 310_000 },
        committed: { tokens: 6_200, microUsd: 310_000 },
        open: 0,
        carried: ['planner_budget_log'],
      });
      const limit = { tokens: 7_000, microUsd: 5_000_000 };
      const want = { tokens: 1_000, microUsd: 1_000 };
      expect(await log.take({ tenantId: 'acme', leaseId: 'too-much', min: want, want, limit })).toMatchObject({
        ok: false,
        committed: { tokens: 6_200 },
      });
      expect(await log.take({ tenantId: 'globex', leaseId: 'fits', min: want, want, limit })).toMatchObject({
        ok: true,
      });
      warnings.length = 0;
      await warnOfUncarriedLegacySpend(db, log, logger);
      expect(warnings).toEqual([]);
    } finally {
      await log.stop();
    }
    const shown = await warden(['budgets', '--tenant', 'acme'], env);
    expect(shown.stdout).toContain('acme: spent 6200 tokens / 0.31 USD');
    expect(shown.stdout).toContain('includes spend carried over from planner_budget_log');
  });

  it('stops before writing anything when an old entry cannot be read, and says which', async () => {
    const env = testEnv('cli-carry-over-bad');
    const db = mongo.db(env.MONGO_DB);
    await seed(db);
    await db
      .collection<{ _id: string; [field: string]: unknown }>(LEGACY_BUDGET_COLLECTION)
      .insertOne({ ...entry('tenant:acme', 4, [1, 1], [1, 1], 'settle'), usedTokens: -3 });
    const run = await warden(['budgets', 'carry-over'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1 entries of planner_budget_log cannot be read, nothing was carried');
    expect(run.stderr).toContain('tenant:acme#000000000004 (usedTokens:');
    const shown = await warden(['budgets', '--json'], env);
    expect(JSON.parse(shown.stdout).tenants).toEqual([]);
  });
});
