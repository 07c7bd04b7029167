import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack, unique } from '../../../test/support/index.js';
import { TaskViews } from '../src/index.js';

/** A view as the planner writes it behind its keyed state (its TaskViewDoc, ADR 0029). */
const plannerView = {
  _id: 'task-v',
  tenantId: 'tenant-a',
  status: 'halted',
  revision: 9,
  tokens: { used: 6_120, limit: 6_000 },
  costUsd: { used: 0.0021, limit: 1 },
  steps: { used: 3, limit: 20 },
  failures: { consecutive: 2, limit: 5 },
  updatedAt: '2026-12-04T18:00:00.000Z',
};

describe("the people's task view, from the planner's task views", () => {
  const client = new MongoClient(stack().mongoUrl);
  const dbName = unique('t_task_view').replaceAll('-', '_');
  beforeAll(async () => {
    await client.connect();
    await client
      .db(dbName)
      .collection('planner_task_views')
      .insertOne(plannerView as never);
  });
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  it("shows the task's budget to its tenant: used, limit and what is left (none past the limit)", async () => {
    const view = await new TaskViews(client.db(dbName), 0).of('task-v', 'tenant-a');
    expect(view.budget).toEqual({
      status: 'halted',
      tokens: { used: 6_120, limit: 6_000, remaining: 0 },
      costUsd: { used: 0.0021, limit: 1, remaining: 1 - 0.0021 },
      steps: { used: 3, limit: 20, remaining: 17 },
      failures: { consecutive: 2, limit: 5 },
    });
  });

  it('shows no budget to another tenant, nor for a task the planner has written no view of', async () => {
    const views = new TaskViews(client.db(dbName), 0);
    expect((await views.of('task-v', 'tenant-b')).budget).toBeUndefined();
    expect((await views.of('task-unknown', 'tenant-a')).budget).toBeUndefined();
  });
});
