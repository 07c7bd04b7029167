import { CoordinatorLookups } from '@warden/runtime';
import { describe, expect, it } from 'vitest';

const TRANSACTION = 1;
const GROUP = 0;

/** A broker that answers each lookup with a new coordinator object, counting the lookups it was sent. */
function broker() {
  let sent = 0;
  return {
    ask: () => Promise.resolve({ coordinator: ++sent }),
    sent: () => sent,
  };
}

describe('the coordinator lookups of a runtime producer (ADR 0036)', () => {
  const txn = (id: string) => ({ groupId: id, coordinatorType: TRANSACTION });
  const group = (id: string) => ({ groupId: id, coordinatorType: GROUP });

  it("asks the broker once per transaction for its coordinator and keeps a group's coordinator between transactions", async () => {
    const lookups = new CoordinatorLookups();
    const b = broker();
    const cluster = {};
    lookups.register('g|in|0');
    for (let t = 0; t < 3; t++) {
      lookups.beginTransaction('g|in|0');
      // kafkajs's order in a transaction: AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn
      const first = await lookups.lookup(cluster, txn('g|in|0'), b.ask);
      expect(await lookups.lookup(cluster, txn('g|in|0'), b.ask)).toBe(first);
      await lookups.lookup(cluster, group('g'), b.ask);
      expect(await lookups.lookup(cluster, txn('g|in|0'), b.ask)).toBe(first);
    }
    // three transaction lookups (one per transaction) and one group lookup, of twelve asked
    expect(b.sent()).toBe(4);
    expect(lookups.stats()).toEqual({ asked: 12, sent: 4 });
  });

  it("asks the broker again for a group looked up twice in one transaction (kafkajs's retry after a stale coordinator)", async () => {
    const lookups = new CoordinatorLookups();
    const b = broker();
    const cluster = {};
    lookups.register('g|in|0');
    lookups.beginTransaction('g|in|0');
    await lookups.lookup(cluster, txn('g|in|0'), b.ask);
    const stale = await lookups.lookup(cluster, group('g'), b.ask);
    const fresh = await lookups.lookup(cluster, group('g'), b.ask);
    expect(fresh).not.toBe(stale);
    lookups.beginTransaction('g|in|0');
    await lookups.lookup(cluster, txn('g|in|0'), b.ask);
    expect(await lookups.lookup(cluster, group('g'), b.ask)).toBe(fresh); // the one found last is kept
  });

  it('keeps no lookup that failed, nothing of a producer it was not told of, and starts afresh for a new cluster', async () => {
    const lookups = new CoordinatorLookups();
    const b = broker();
    // not registered (an admin, a consumer, someone else's producer): every lookup goes to the broker
    const other = {};
    for (let i = 0; i < 3; i++) await lookups.lookup(other, txn('someone|else'), b.ask);
    await lookups.lookup(other, group('g'), b.ask);
    expect(b.sent()).toBe(4);

    const cluster = {};
    lookups.register('g|in|0');
    lookups.beginTransaction('g|in|0');
    await expect(
      lookups.lookup(cluster, txn('g|in|0'), () => Promise.reject(new Error('NOT_COORDINATOR'))),
    ).rejects.toThrow();
    await lookups.lookup(cluster, txn('g|in|0'), b.ask); // the failed one was not kept
    expect(b.sent()).toBe(5);

    // the producer was recreated (a new cluster under the same id): its first lookups go to the broker
    const recreated = {};
    await lookups.lookup(cluster, group('g'), b.ask);
    lookups.register('g|in|0');
    lookups.beginTransaction('g|in|0');
    await lookups.lookup(recreated, txn('g|in|0'), b.ask);
    await lookups.lookup(recreated, group('g'), b.ask);
    expect(b.sent()).toBe(8);

    lookups.forget('g|in|0');
    await lookups.lookup(recreated, txn('g|in|0'), b.ask);
    await lookups.lookup(recreated, txn('g|in|0'), b.ask);
    expect(b.sent()).toBe(10);
  });
});
