import { canonicalHash, type WardenEvent, type WireEnvelope } from '@warden/contracts';
import { sampleChain } from '@warden/contracts/testing';
import { describe, expect, it } from 'vitest';
import { MAX_OBSERVATIONS, ReadFrontier, endOffsetsOf } from '../src/projector/read-frontier.js';
import { Projection, type ProjectedInput } from '../src/projector/projection.js';
import type { AuditStore } from '../src/projector/store.js';

const TASK = 'task-sample';
const SETTLE_MS = 100;

/** The few store calls a projection makes, kept in memory (a unit test runs no MongoDB). */
function memoryStore(): AuditStore {
  return {
    events: {},
    init: async () => {},
    taskIds: async () => new Set<string>(),
    eventsOf: async () => [],
    insertNew: async (_c: unknown, docs: ReadonlyArray<{ _id: string }>) => new Set(docs.map((d) => d._id)),
    saveTasks: async () => {},
    savePoints: async () => {},
  } as unknown as AuditStore;
}

const input = (env: WireEnvelope, offset: number): ProjectedInput => ({
  decoded: { envelope: env, event: env as unknown as WardenEvent, hash: canonicalHash(env), schemaId: 1 },
  source: { topic: 't', partition: 0, offset: String(offset) },
});

/** A projection on a clock the test moves, and the positions its reader has reached. */
function setup() {
  let now = 1_000;
  const projection = new Projection(memoryStore(), { settleMs: SETTLE_MS, maxTasksInMemory: 100, now: () => now });
  const positions = new Map<string, bigint>();
  const frontier = new ReadFrontier();
  return {
    projection,
    frontier,
    advanceClock: (ms: number) => (now += ms),
    now: () => now,
    read: (topic: string, partition: number, next: bigint) => positions.set(`${topic}|${partition}`, next),
    reached: () => frontier.advance((topic, partition) => positions.get(`${topic}|${partition}`)),
  };
}

describe('ReadFrontier', () => {
  it('reaches a moment only once the reader has passed its end offsets on every partition', () => {
    const f = new ReadFrontier();
    const positions = new Map<string, bigint>();
    const at = (topic: string, partition: number) => positions.get(`${topic}|${partition}`);
    f.observe(
      10,
      new Map([
        ['a|0', 5n],
        ['b|0', 3n],
      ]),
    );
    f.observe(
      20,
      new Map([
        ['a|0', 9n],
        ['b|0', 3n],
      ]),
    );
    expect(f.advance(at)).toBeUndefined();
    positions.set('a|0', 9n);
    expect(f.advance(at)).toBeUndefined(); // b|0 not read at all yet
    positions.set('b|0', 3n);
    expect(f.advance(at)).toBe(20);
    f.observe(
      30,
      new Map([
        ['a|0', 12n],
        ['b|0', 3n],
      ]),
    );
    expect(f.advance(at)).toBe(20); // what it reached stays until it passes the next one
  });

  it('keeps a bounded number of observations while the reader lags, the oldest and the newest among them', () => {
    const f = new ReadFrontier();
    for (let i = 1; i <= 10 * MAX_OBSERVATIONS; i++) f.observe(i, new Map([['a|0', BigInt(i)]]));
    expect(f.advance((_t, _p) => 1n)).toBe(1);
    expect(f.advance((_t, _p) => BigInt(10 * MAX_OBSERVATIONS))).toBe(10 * MAX_OBSERVATIONS);
  });

  it('takes only partitions that hold something', () => {
    const ends = endOffsetsOf([
      {
        topic: 'x',
        partitions: [
          { partition: 0, high: '7', low: '0' },
          { partition: 1, high: '0', low: '0' },
        ],
      },
    ]);
    expect([...ends]).toEqual([['x|0', 7n]]);
  });
});

describe('Projection.settle with the read frontier', () => {
  const chain = sampleChain(8, TASK);
  const withoutCause = [...chain.slice(0, 5), ...chain.slice(6)];

  it('declares no cause missing while a partition that may hold it is unread, however long the task is quiet', async () => {
    const s = setup();
    expect(await s.projection.apply(withoutCause.map((e, i) => input(e, i)))).toEqual([]);
    // The log's end, observed after the effects were read: the cause's partition (verdicts|2) is far behind.
    s.frontier.observe(
      s.now(),
      new Map([
        ['results|0', 7n],
        ['verdicts|2', 40n],
      ]),
    );
    s.read('results', 0, 7n);
    s.read('verdicts', 2, 12n);
    s.advanceClock(100 * SETTLE_MS);
    expect(await s.projection.settle(false, s.reached())).toEqual([]);
    // The cause arrives, read from the lagging partition: the chain is whole and nothing was ever raised.
    expect(await s.projection.apply([input(chain[5]!, 30)])).toEqual([]);
    s.read('verdicts', 2, 40n);
    s.advanceClock(100 * SETTLE_MS);
    expect(await s.projection.settle(false, s.reached())).toEqual([]);
  });

  it('still names a cause missing once the reader has passed the end of the log seen after the effect', async () => {
    const s = setup();
    await s.projection.apply(withoutCause.map((e, i) => input(e, i)));
    s.frontier.observe(s.now(), new Map([['results|0', 7n]]));
    s.advanceClock(100 * SETTLE_MS);
    expect(await s.projection.settle(false, s.reached())).toEqual([]); // not read up to there yet
    s.read('results', 0, 7n);
    const findings = await s.projection.settle(false, s.reached());
    expect(findings.map((f) => f.break)).toContainEqual(expect.objectContaining({ kind: 'missing', seq: 5 }));
  });

  it('settles no task moved after the moment reached, nor one quiet for less than settleMs', async () => {
    const s = setup();
    s.frontier.observe(s.now(), new Map([['results|0', 1n]]));
    s.read('results', 0, 1n);
    s.advanceClock(10);
    await s.projection.apply(withoutCause.map((e, i) => input(e, i)));
    s.advanceClock(100 * SETTLE_MS);
    expect(await s.projection.settle(false, s.reached())).toEqual([]); // read after the moment reached
    s.frontier.observe(s.now(), new Map([['results|0', 1n]]));
    expect(await s.projection.settle(false, s.reached())).not.toEqual([]);
    const quick = setup();
    await quick.projection.apply(withoutCause.map((e, i) => input(e, i)));
    quick.frontier.observe(quick.now(), new Map());
    expect(await quick.projection.settle(false, quick.reached())).toEqual([]); // quiet for 0 ms
    expect(await quick.projection.settle(true)).not.toEqual([]); // a rebuild at the end of the log settles all
  });
});

describe('Projection.liveChain: the events kept in memory for verification', () => {
  const chain = sampleChain(6, TASK);
  const bytesOf = (envs: readonly WireEnvelope[]) => envs.reduce((n, e) => n + JSON.stringify(e).length, 0);

  it("holds every event of a task once, for the task's tenant only", async () => {
    const s = setup();
    await s.projection.apply([...chain, chain[2]!].map((e, i) => input(e, i)));
    const live = s.projection.liveChain(TASK, chain[0]!.tenantId);
    expect(live?.envelopes.map((e) => e.id).sort()).toEqual(chain.map((e) => e.id).sort());
    expect(live?.checkpoint).toBeNull();
    expect(s.projection.liveChain(TASK, 'another-tenant')).toBeUndefined();
    expect(s.projection.liveChain('no-such-task', chain[0]!.tenantId)).toBeUndefined();
    expect(s.projection.cachedWireBytes()).toBe(bytesOf(chain));
  });

  it('drops the least recently moved tasks past its bytes, and never answers with part of a task', async () => {
    const other = sampleChain(6, 'task-other');
    const projection = new Projection(memoryStore(), {
      settleMs: SETTLE_MS,
      maxTasksInMemory: 100,
      verifyCacheBytes: bytesOf(other) + 10,
    });
    await projection.apply(chain.slice(0, 3).map((e, i) => input(e, i)));
    await projection.apply(other.map((e, i) => input(e, 10 + i)));
    expect(projection.liveChain(TASK, chain[0]!.tenantId)).toBeUndefined(); // dropped for room
    expect(projection.liveChain('task-other', other[0]!.tenantId)?.envelopes).toHaveLength(6);
    await projection.apply(chain.slice(3).map((e, i) => input(e, 3 + i)));
    expect(projection.liveChain(TASK, chain[0]!.tenantId)).toBeUndefined(); // its first events are not cached
    expect(projection.cachedWireBytes()).toBe(bytesOf(other));
  });
});

describe('Projection.flush: task summaries written behind the events', () => {
  /** A store that records the task summaries written, and fails its next save when told to. */
  function recordingStore() {
    const saved: Array<Array<{ _id: string; eventCount: number }>> = [];
    let failNext = false;
    const store = {
      ...memoryStore(),
      saveTasks: async (docs: ReadonlyArray<{ _id: string; eventCount: number }>) => {
        if (failNext) {
          failNext = false;
          throw new Error('MongoDB is down');
        }
        saved.push(docs.map((d) => ({ _id: d._id, eventCount: d.eventCount })));
      },
    } as unknown as AuditStore;
    return { store, saved, failNextSave: () => (failNext = true) };
  }
  const chain = sampleChain(6, TASK);
  const other = sampleChain(3, 'task-other');

  it('writes no summary while projecting, then each moved task once per flush, with the generation it covers', async () => {
    const r = recordingStore();
    const projection = new Projection(r.store, { settleMs: SETTLE_MS, maxTasksInMemory: 100 });
    await projection.apply(chain.slice(0, 2).map((e, i) => input(e, i)));
    await projection.apply(other.map((e, i) => input(e, 10 + i)));
    await projection.apply(chain.slice(2).map((e, i) => input(e, 2 + i)));
    expect(r.saved).toEqual([]);
    expect(projection.generation()).toBe(3);
    expect(projection.flushedGeneration()).toBe(0);
    expect(projection.unwrittenTasks()).toBe(2);
    expect(await projection.flush()).toBe(3);
    expect(r.saved.flat().sort((a, b) => a._id.localeCompare(b._id))).toEqual([
      { _id: 'task-other', eventCount: 3 },
      { _id: TASK, eventCount: 6 },
    ]);
    expect(projection.flushedGeneration()).toBe(3);
    expect(await projection.flush()).toBe(3); // nothing moved since: nothing written
    expect(r.saved.flat()).toHaveLength(2);
  });

  it('keeps the tasks of a failed flush for the next one, and does not count the failed flush as covering them', async () => {
    const r = recordingStore();
    const projection = new Projection(r.store, { settleMs: SETTLE_MS, maxTasksInMemory: 100 });
    await projection.apply(chain.map((e, i) => input(e, i)));
    r.failNextSave();
    await expect(projection.flush()).rejects.toThrow('MongoDB is down');
    expect(projection.flushedGeneration()).toBe(0);
    expect(projection.unwrittenTasks()).toBe(1);
    expect(await projection.flush()).toBe(1);
    expect(r.saved.flat()).toEqual([{ _id: TASK, eventCount: 6 }]);
  });

  it('never evicts a task from memory before its summary is written', async () => {
    const r = recordingStore();
    const projection = new Projection(r.store, { settleMs: SETTLE_MS, maxTasksInMemory: 10 });
    const many = Array.from({ length: 15 }, (_, i) => sampleChain(2, `task-${i}`));
    for (const [i, c] of many.entries()) await projection.apply(c.map((e, j) => input(e, 2 * i + j)));
    expect(projection.tasksInMemory()).toBe(15); // all unwritten: none dropped
    await projection.flush();
    await projection.apply([input(many[0]![1]!, 1)]); // eviction runs after a batch
    expect(projection.tasksInMemory()).toBe(10);
  });
});
