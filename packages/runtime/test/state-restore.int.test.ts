/**
 * Issue 17: a restore parses and checks each key's latest changelog record only. Until Kafka's cleaner compacts a
 * changelog it holds every write of every task and their tombstones; parsing each as it was read made a restore cost
 * in proportion to all of them (at 100,000 earlier tasks, 1,500,000 records: 10 s of a core). Records that a later
 * one replaces are never parsed: a record the schema refuses, followed by a good value or a tombstone, raises no
 * corruption and leaves the later state.
 */
import { randomBytes } from 'node:crypto';
import { ensureTopics, stateChangelogConfig, StateStores } from '@warden/runtime';
import { testKafka } from '@warden/runtime/testing';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { stack } from '../../../test/support/index.js';

describe('state restore', () => {
  const kafka = testKafka(stack());
  const topic = `t-restore-${randomBytes(5).toString('hex')}.counter-state.v1`;

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("parses each key's latest record only: replaced records, even invalid ones, are never checked", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topic], { partitions: 1, configs: stateChangelogConfig });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const record = (key: string, value: string | null) => ({ key, value, partition: 0 });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        record('replaced', JSON.stringify({ v: { n: 'not a number' } })), // refused by the schema, then replaced
        record('replaced', JSON.stringify({ v: { n: 2 } })),
        record('ended', 'not json {'), // corrupt, then tombstoned
        record('ended', null),
        record('kept', JSON.stringify({ v: { n: 7 }, t: 1 })),
        record('broken', JSON.stringify({ v: { n: 1 } })),
        record('broken', JSON.stringify({ v: { n: 'last and invalid' } })), // the latest: corrupt
      ],
    });
    await producer.disconnect();

    const corrupt: string[] = [];
    const stores = new StateStores({
      kafka,
      topic,
      groupId: `${topic}.group`,
      schema: z.object({ n: z.number() }),
      logger: pino({ level: 'silent' }),
      fence: () => Promise.resolve(),
      onCorrupt: (r) => corrupt.push(r.key),
    });
    const store = await stores.load(0);

    expect(Object.fromEntries([...store.entries].map(([k, e]) => [k, e.value]))).toEqual({
      replaced: { n: 2 },
      kept: { n: 7 },
    });
    expect(corrupt).toEqual(['broken']);
  });
});
