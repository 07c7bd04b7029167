import { sampleTask } from '@warden/contracts/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack, unique } from '../../../test/support/index.js';
import { pino } from 'pino';
import {
  TASK_VIEWS_COLLECTION,
  TaskViewWriter,
  initialState,
  taskViewOf,
  type TaskState,
  type TaskViewDoc,
} from '../src/index.js';

/** Two planner replicas share one database: task views written behind (ADR 0029). */
describe("a planner replica's task views, when another replica wrote since", () => {
  const client = new MongoClient(stack().mongoUrl);
  const dbName = unique('t_remembered').replaceAll('-', '_');
  beforeAll(async () => client.connect());
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });
  const view = (revision: number, status = 'planning') =>
    taskViewOf({ ...state, status } as TaskState, revision, new Date(Date.UTC(2026, 11, 1, 0, 0, revision)));
  const state = initialState({
    eventId: 'e1',
    taskId: 'task-r',
    tenantId: 'tenant-a',
    model: 'scripted:x',
    task: sampleTask() as never,
    startedAtMs: 0,
    limits: { maxTokens: 1, maxCostUsd: 1, maxSteps: 1, maxWallTimeMs: 1_000, maxConsecutiveFailures: 1 },
  });

  it("never writes a task's view over a newer one another replica wrote (ADR 0029's write-behind)", async () => {
    const db = client.db(dbName);
    const logger = pino({ level: 'silent' });
    const [a, b] = [0, 1].map(() => new TaskViewWriter(db, { flushMs: 60_000, maxPending: 10, logger }));
    a!.put(view(1));
    a!.put(view(2)); // the latest view of a task waits, not each one
    expect(a!.waiting()).toBe(1);
    await a!.flush();
    const views = db.collection<TaskViewDoc>(TASK_VIEWS_COLLECTION);
    expect(await views.findOne({ _id: 'task-r' })).toMatchObject({ revision: 2, status: 'planning' });
    b!.put(view(5, 'halted')); // the new owner after a rebalance
    await b!.flush();
    a!.put(view(3, 'waiting')); // the old owner's late view
    await a!.flush();
    expect(a!.waiting(), 'a stale view is dropped, not tried again').toBe(0);
    expect(await views.findOne({ _id: 'task-r' })).toMatchObject({ revision: 5, status: 'halted' });
    expect(await views.countDocuments({})).toBe(1);
  });

  it('keeps at most maxPending views waiting, dropping the oldest', () => {
    const writer = new TaskViewWriter(client.db(dbName), {
      flushMs: 60_000,
      maxPending: 2,
      logger: pino({ level: 'silent' }),
    });
    for (const id of ['t1', 't2', 't3']) writer.put({ ...view(1), _id: id });
    expect(writer.waiting()).toBe(2);
  });
});
