import type { Db } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TaskViewWriter, type TaskViewDoc } from '../src/index.js';

const view = (taskId: string, revision: number): TaskViewDoc => ({
  _id: taskId,
  tenantId: 'tenant-a',
  status: 'waiting',
  revision,
  tokens: { used: revision, limit: 100 },
  costUsd: { used: 0, limit: 1 },
  steps: { used: 1, limit: 5 },
  failures: { consecutive: 0, limit: 3 },
  updatedAt: '2026-12-04T00:00:00.000Z',
});

/** A database whose bulkWrite answers as `answer` says, recording what was asked (no MongoDB in a unit test). */
function dbAnswering(answer: (ops: unknown[]) => Promise<unknown>) {
  const writes: Array<Array<{ _id: string; revision: number }>> = [];
  const db = {
    collection: () => ({
      bulkWrite: (ops: Array<{ updateOne: { filter: { _id: string }; update: { $set: { revision: number } } } }>) => {
        writes.push(ops.map((o) => ({ _id: o.updateOne.filter._id, revision: o.updateOne.update.$set.revision })));
        return answer(ops);
      },
    }),
  } as unknown as Db;
  return { db, writes };
}

const options = { flushMs: 60_000, maxPending: 10, logger: pino({ level: 'silent' }) };

describe("the planner's task views written behind (ADR 0029)", () => {
  it('keeps the views of a write that failed whole, unless a newer view of the task came meanwhile', async () => {
    let fail = true;
    const late: TaskViewDoc[] = []; // views put while the write is under way
    const { db, writes } = dbAnswering(() => {
      if (!fail) return Promise.resolve({});
      for (const v of late.splice(0)) writer.put(v);
      return Promise.reject(new Error('connection reset'));
    });
    const writer = new TaskViewWriter(db, options);
    late.push(view('t2', 2)); // a newer view of t2 arrives while the write is under way
    writer.put(view('t1', 1));
    writer.put(view('t2', 1));
    await writer.flush();
    expect(writer.waiting(), 't1 again, t2 at its newer revision').toBe(2);
    fail = false;
    await writer.flush();
    expect(writer.waiting()).toBe(0);
    expect(writes[1]!.sort((a, b) => a._id.localeCompare(b._id))).toEqual([
      { _id: 't1', revision: 1 },
      { _id: 't2', revision: 2 },
    ]);
  });

  it('drops a view refused as stale (a newer one is stored), and tries the others that failed again', async () => {
    let first = true;
    const { db, writes } = dbAnswering(() => {
      if (!first) return Promise.resolve({});
      first = false;
      return Promise.reject(
        Object.assign(new Error('bulk write failed'), {
          writeErrors: [
            { index: 0, code: 11000 },
            { index: 1, code: 91 },
          ],
        }),
      );
    });
    const writer = new TaskViewWriter(db, options);
    writer.put(view('stale', 3));
    writer.put(view('shut-down', 3));
    await writer.flush();
    expect(writer.waiting()).toBe(1);
    await writer.flush();
    expect(writes[1]).toEqual([{ _id: 'shut-down', revision: 3 }]);
  });
});
