import {
  PartitionTransactions,
  PublishError,
  coordinatorLookups,
  createKafka,
  ensureTopics,
  groupOffsetsOf,
} from '@warden/runtime';
import { testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';

/** A fresh prefix on the test stack: a connected admin, an input and an output topic, and a group id. */
async function txSetup(clientId: string, partitions: number) {
  const config = testWorkerConfig(stack());
  const logger = pino({ level: 'silent' });
  const kafka = createKafka(config.brokers, clientId, logger, config.kafkaSecurity);
  const admin = kafka.admin();
  await admin.connect();
  const input = `${config.topicPrefix}.in`;
  const output = `${config.topicPrefix}.out`;
  const groupId = `${config.topicPrefix}.group`;
  await ensureTopics(admin, [input, output], { partitions });
  return { config, logger, kafka, admin, input, output, groupId };
}

describe('PartitionTransactions on the real broker', () => {
  it('fences an earlier owner of a partition: its commit fails, and the new owner reads the final offset', async () => {
    const { logger, kafka, admin, input, output, groupId } = await txSetup('tx-test', 1);
    const old = new PartitionTransactions(kafka, admin, groupId, 30_000, logger);
    const successor = new PartitionTransactions(kafka, admin, groupId, 30_000, logger);
    const message = (value: string) => ({ topic: output, key: 'k', value: Buffer.from(value), headers: {} });
    const consumer = kafka.consumer({ groupId: `${groupId}.reader` }); // read_committed, the kafkajs default
    const marker = kafka.producer();
    const seen: string[] = [];
    try {
      const first = await old.acquire(input, 0);
      expect(first.committedOffset).toBeUndefined();
      await old.commit(first.producer, { topic: input, partition: 0, nextOffset: '5' }, [message('old-1')]);

      // a new owner takes the partition: fencing happens before it reads the offset, which is therefore final
      const taken = await successor.acquire(input, 0);
      expect(taken.committedOffset).toBe(5n);

      // the old owner (a zombie) tries to commit the next chunk: refused, nothing of it visible
      await expect(
        old.commit(first.producer, { topic: input, partition: 0, nextOffset: '9' }, [message('zombie')]),
      ).rejects.toBeInstanceOf(PublishError);
      await successor.commit(taken.producer, { topic: input, partition: 0, nextOffset: '9' }, [message('new-1')]);

      // The transaction's offset is visible once its commit marker is written to __consumer_offsets, which the
      // coordinator does after EndTxn returns: a fetch at once may still read 5 (it did in CI, two test files at a
      // time). It must become 9; the zombie's 9 never counted, as the output below shows.
      const committed = async (): Promise<string | undefined> =>
        (await admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions[0]?.offset;
      await waitUntil(async () => (await committed()) === '9', {
        timeoutMs: 30_000,
        what: "the successor's committed offset 9",
      });
      // A marker after the transactions: read (read_committed) only once all before it on the partition have ended,
      // so what is seen before it is all that will ever be seen of them.
      await marker.connect();
      await marker.send({ topic: output, acks: -1, messages: [message('marker')] });
      await consumer.connect();
      await consumer.subscribe({ topic: output, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message: m }) => void seen.push(String(m.value)) });
      await waitUntil(() => seen.includes('marker'), { what: 'the marker after the transactions' });
      expect(seen).toEqual(['old-1', 'new-1', 'marker']);
    } finally {
      await consumer.disconnect();
      await marker.disconnect();
      await old.closeAll();
      await successor.closeAll();
      await admin.disconnect();
    }
  });
  it('shares one producer between a fence and an acquire of a partition at the same moment: the chunk commits', async () => {
    // A state restore fences every partition at the group join while the partition's first chunk acquires it. Two
    // creations would each bump the epoch, and the chunk could hold the fenced producer: its commit would fail.
    const { logger, kafka, admin, input, output, groupId } = await txSetup('tx-race', 4);
    const txs = new PartitionTransactions(kafka, admin, groupId, 30_000, logger);
    try {
      for (const partition of [0, 1, 2, 3]) {
        const [, acquired] = await Promise.all([txs.fence(input, partition), txs.acquire(input, partition)]);
        expect(txs.held(input, partition)).toBe(acquired.producer);
        await txs.commit(acquired.producer, { topic: input, partition, nextOffset: '1' }, [
          { topic: output, key: 'k', value: Buffer.from(`p${partition}`), headers: {} },
        ]);
      }
    } finally {
      await txs.closeAll();
      await admin.disconnect();
    }
  });

  it('sends one coordinator lookup per transaction (kafkajs sends four), back to back, with every output and offset committed (ADR 0036)', async () => {
    const { config, logger, kafka, admin, input, output } = await txSetup('tx-lookups', 1);
    const TRANSACTIONS = 30;
    /** Lookups sent to the broker per transaction by a member, once its producer is created and fenced. */
    const perTransaction = async (groupId: string, lookups: 'per-transaction' | 'kafkajs') => {
      const txs = new PartitionTransactions(kafka, admin, groupId, 30_000, logger, { coordinatorLookups: lookups });
      try {
        const { producer } = await txs.acquire(input, 0);
        await txs.commit(producer, { topic: input, partition: 0, nextOffset: '1' }, []); // the group's first lookup
        const before = coordinatorLookups.stats().sent;
        for (let i = 2; i <= TRANSACTIONS + 1; i++) {
          const value = Buffer.from(`${groupId}-${i}`);
          await txs.commit(producer, { topic: input, partition: 0, nextOffset: String(i) }, [
            { topic: output, key: groupId, value, headers: {} },
          ]);
        }
        return (coordinatorLookups.stats().sent - before) / TRANSACTIONS;
      } finally {
        await txs.closeAll();
      }
    };
    const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.reader` });
    const seen: string[] = [];
    try {
      const cached = await perTransaction(`${config.topicPrefix}.cached`, 'per-transaction');
      const asIs = await perTransaction(`${config.topicPrefix}.as-is`, 'kafkajs');
      expect(cached).toBe(1);
      expect(asIs).toBeGreaterThanOrEqual(4); // and more when it retries CONCURRENT_TRANSACTIONS
      // Every transaction committed its output and its offset, in order.
      await consumer.connect();
      await consumer.subscribe({ topic: output, fromBeginning: true });
      await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void seen.push(String(message.value))) });
      await waitUntil(() => seen.length >= 2 * TRANSACTIONS, { timeoutMs: 30_000, what: 'the outputs' });
      const expected = (g: string) =>
        Array.from({ length: TRANSACTIONS }, (_, i) => `${config.topicPrefix}.${g}-${i + 2}`);
      expect(seen).toEqual([...expected('cached'), ...expected('as-is')]);
      for (const g of ['cached', 'as-is']) {
        const [offsets] = await groupOffsetsOf(admin, `${config.topicPrefix}.${g}`, [input]);
        expect(offsets?.partitions[0]?.offset).toBe(String(TRANSACTIONS + 1));
      }
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  });
});
