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
    store.apply(chunk);
    expect(store.entries.get('t1')).toEqual({ value: { n: 2 } });
  });

  it('writes changelog records to its own partition: the value and its wake-up, or a tombstone', () => {
    const store = new PartitionState<{ n: number }>({ topic: 'w.x-state.v1', partition: 2 });
    store.entries.set('gone', { value: { n: 9 } });
    const chunk = store.begin();
    chunk.handle('t1').set({ n: 1 });
    chunk.handle('t1').wakeAt(1_000);
    chunk.handle('gone').delete();
    const records = store.recordsOf(chunk);
    expect(records.map((r) => [r.key, r.partition, r.value?.toString() ?? null])).toEqual([
      ['t1', 2, '{"v":{"n":1},"w":1000}'],
      ['gone', 2, null],
    ]);
    store.apply(chunk);
    expect(store.entries.has('gone')).toBe(false);
    expect(store.due(999)).toEqual([]);
    expect(store.due(1_000)).toEqual(['t1']);
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
