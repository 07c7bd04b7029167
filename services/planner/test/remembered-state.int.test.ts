import { sampleTask } from '@warden/contracts/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack, unique } from '../../../test/support/index.js';
import { BudgetStore, StateConflictError, TaskStore, initialState } from '../src/index.js';

/** Two planner replicas share one database; each remembers what it last wrote or read (ADR 0022). */
describe("a planner replica's remembered state and budget heads, when another replica wrote since", () => {
  const client = new MongoClient(stack().mongoUrl);
  const dbName = unique('t_remembered').replaceAll('-', '_');
  beforeAll(async () => client.connect());
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });
  const handled = (eventId: string) => ({
    eventId,
    source: { topic: 't', partition: 0, offset: '0' },
    outputsJson: '[]',
  });

  it('cannot save over a newer state: the conflict makes it read the stored one', async () => {
    const db = client.db(dbName);
    const [a, b] = [new TaskStore(db), new TaskStore(db)];
    const state = initialState({
      eventId: 'e1',
      taskId: 'task-r',
      tenantId: 'tenant-a',
      model: 'scripted:x',
      task: sampleTask() as never,
      startedAtMs: 0,
      limits: { maxTokens: 1, maxCostUsd: 1, maxSteps: 1, maxWallTimeMs: 1_000, maxConsecutiveFailures: 1 },
    });
    await a.save(state, 0, handled('e1'));
    const seenByB = (await b.load('task-r'))!;
    await b.save({ ...seenByB.state, steps: 1 }, seenByB.version, handled('e2'));
    const stale = (await a.load('task-r'))!;
    expect(stale.version).toBe(1); // a's guess
    await expect(a.save({ ...stale.state, steps: 5 }, stale.version, handled('e3'))).rejects.toBeInstanceOf(
      StateConflictError,
    );
    expect(await a.load('task-r')).toMatchObject({ version: 2, state: { steps: 1 }, handled: { eventId: 'e2' } });
  });

  it('never refuses a reservation on a stale budget head, and never writes over a newer one', async () => {
    const db = client.db(dbName);
    const [a, b] = [new BudgetStore(db), new BudgetStore(db)];
    const limit = { tokens: 10_000, microUsd: 1_000_000_000 };
    const reserve = (store: BudgetStore, id: string, tokens: number) =>
      store.reserve({
        reservationId: id,
        taskId: id,
        tenantId: 'shared',
        tokens,
        microUsd: 1,
        taskLimit: limit,
        tenantLimit: limit,
      });
    const first = await reserve(a, 'r1', 9_000); // a remembers the tenant at 9,000 committed
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    await b.settle(first.reservation, { tokens: 1_000, microUsd: 1 }); // b: 1,000 committed now
    const second = await reserve(a, 'r2', 5_000); // a's guess (9,000) would refuse it
    expect(second.ok).toBe(true);
    expect(await b.figures('tenant:shared')).toMatchObject({ committedTokens: 6_000, usedTokens: 1_000 });
  });
});
