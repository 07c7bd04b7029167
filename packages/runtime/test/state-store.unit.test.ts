import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { coPartitionedAssigner, PartitionState } from '@warden/runtime';
import { describe, expect, it } from 'vitest';

const { AssignerProtocol } = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;

describe('state layers (ADR 0027)', () => {
  it("keeps an attempt's writes only when kept, and a chunk's only once applied (its transaction committed)", () => {
    const store = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 2 });
    const chunk = store.begin();
    const failed = chunk.attempt();
    failed.handle('t1').set({ n: 1 }); // the handler then threw: never kept
    expect(chunk.handle('t1').get()).toBeUndefined();
    const ok = chunk.attempt();
    ok.handle('t1').set({ n: 2 });
    ok.keep();
    expect(chunk.handle('t1').get()).toEqual({ n: 2 });
    expect(store.entries.size).toBe(0); // not committed yet
    store.apply(chunk, 5);
    expect(store.entries.get('t1')).toEqual({ value: { n: 2 }, writtenAtMs: 5 });
  });

  it('writes changelog records to its own partition: the value and its wake-up, or a tombstone', () => {
    const store = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 2 });
    store.put('gone', { value: { n: 9 } });
    const chunk = store.begin();
    chunk.handle('t1').set({ n: 1 });
    chunk.handle('t1').wakeAt(1_000);
    chunk.handle('gone').delete();
    const records = store.recordsOf(chunk, 7);
    expect(records.map((r) => [r.key, r.partition, r.value?.toString() ?? null])).toEqual([
      ['t1', 2, '{"v":{"n":1},"w":1000,"t":7}'],
      ['gone', 2, null],
    ]);
    store.apply(chunk, 7);
    expect(store.entries.has('gone')).toBe(false);
    expect(store.hasDue(999)).toBe(false);
    expect(store.due(999)).toEqual({ wake: [], expire: [] });
    expect(store.hasDue(1_000)).toBe(true);
    expect(store.due(1_000)).toEqual({ wake: ['t1'], expire: [] });
    expect(store.due(1_000)).toEqual({ wake: ['t1'], expire: [] }); // due until a committed write changes it
  });

  it('finds what is due through its heap: a changed wake-up replaces the old one, a deleted key is never due', () => {
    const store = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 0 });
    const write = (fn: (layer: ReturnType<typeof store.begin>) => void): void => {
      const chunk = store.begin();
      fn(chunk);
      store.apply(chunk, 0);
    };
    write((c) => {
      for (let i = 0; i < 1_000; i++) {
        c.handle(`t${i}`).set({ n: i });
        c.handle(`t${i}`).wakeAt(10_000 + i);
      }
    });
    write((c) => c.handle('t500').wakeAt(5)); // moved earlier
    write((c) => c.handle('t1').wakeAt(undefined)); // cancelled
    write((c) => c.handle('t2').delete());
    expect(store.due(10_003)).toEqual({ wake: ['t500', 't0', 't3'], expire: [] });
    write((c) => c.handle('t500').wakeAt(undefined));
    expect(store.due(10_003)).toEqual({ wake: ['t0', 't3'], expire: [] });
    expect(store.due(4)).toEqual({ wake: [], expire: [] });
  });

  it('expires a key nobody wrote for the idle TTL, unless a write came since', () => {
    const store = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 0 }, 1_000);
    const write = (key: string, atMs: number, wakeAtMs?: number): void => {
      const chunk = store.begin();
      chunk.handle(key).set({ n: atMs });
      if (wakeAtMs !== undefined) chunk.handle(key).wakeAt(wakeAtMs);
      store.apply(chunk, atMs);
    };
    write('idle', 0);
    write('busy', 0);
    write('waiting', 0, 500);
    write('busy', 800); // written again: its TTL runs from 800
    expect(store.due(600)).toEqual({ wake: ['waiting'], expire: [] });
    // At 1,000 'waiting' is both due to wake and expired: expiry wins, the wake-up is not run.
    const at1000 = store.due(1_000);
    expect(at1000.wake).toEqual([]);
    expect(new Set(at1000.expire)).toEqual(new Set(['idle', 'waiting']));
    expect(store.due(1_799).expire).not.toContain('busy');
    expect(store.due(1_800).expire).toContain('busy');
    const never = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 0 }, 0);
    never.put('old', { value: { n: 1 }, writtenAtMs: 0 });
    expect(never.hasDue(Number.MAX_SAFE_INTEGER)).toBe(false); // a TTL of 0: never
  });

  it('runs the chunks of a partition number one at a time (the lock)', async () => {
    const store = new PartitionState<unknown>({ topic: 't', partition: 0 });
    const order: string[] = [];
    const first = await store.lock();
    const second = store.lock().then((release) => {
      order.push('second');
      release();
    });
    order.push('first');
    first();
    await second;
    expect(order).toEqual(['first', 'second']);
  });
});

describe('the co-partitioned assignor', () => {
  it('gives partition p of every topic to the same member', async () => {
    const partitions = (n: number) => Array.from({ length: n }, (_, partitionId) => ({ partitionId }));
    const cluster = { findTopicPartitionMetadata: () => partitions(3) };
    const assigner = coPartitionedAssigner({ cluster } as never);
    const result = await assigner.assign({
      members: [{ memberId: 'b' }, { memberId: 'a' }] as never,
      topics: ['tasks', 'proposals'],
    });
    const byMember = Object.fromEntries(
      result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment]),
    );
    expect(byMember).toEqual({
      a: { tasks: [0, 2], proposals: [0, 2] },
      b: { tasks: [1], proposals: [1] },
    });
  });
});
