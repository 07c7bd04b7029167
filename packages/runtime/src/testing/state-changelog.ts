import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';

/**
 * A state changelog (ADR 0027) read to its end as of the call, read_committed, with a throw-away group: the latest
 * value (the record's JSON `v`) of each key, deleted keys absent. For tests and benches that check what a stateful
 * worker committed; workers restore through StateStores.
 */
export async function readStateChangelog(kafka: Kafka, topic: string): Promise<Map<string, unknown>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const left = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
  const values = new Map<string, unknown>();
  if (left.size === 0) return values;
  const consumer = kafka.consumer({
    groupId: `state-reader-${randomBytes(6).toString('hex')}`,
    readUncommitted: false,
  });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  // Positions move past transaction markers too: a fetch of markers alone is an empty END_BATCH_PROCESS.
  const advance = (partition: number, lastOffset: string): void => {
    if (BigInt(lastOffset) + 1n >= ends.get(partition)!) left.delete(partition);
    if (left.size === 0) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) advance(payload.partition, payload.lastOffset);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          if (m.value === null) values.delete(key);
          else values.set(key, (JSON.parse(m.value.toString()) as { v: unknown }).v);
        }
        advance(batch.partition, batch.lastOffset());
        return Promise.resolve();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return values;
}
