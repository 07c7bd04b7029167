import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { stack, unique } from './support/index.js';

describe('the real stack, over the wire', () => {
  const endpoints = stack();

  it('kafka: produces and consumes a round trip on a fresh topic', async () => {
    const kafka = new Kafka({
      clientId: unique('smoke'),
      brokers: endpoints.kafkaBrokers.split(','),
      logLevel: logLevel.NOTHING,
      ...(endpoints.kafkaSasl === undefined ? {} : { sasl: { ...endpoints.kafkaSasl } as SASLOptions }),
    });
    const topic = unique('smoke-topic');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value: 'hello', headers: { h: 'v' } }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: unique('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: string; header: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          resolve({ key: String(message.key), value: String(message.value), header: String(message.headers?.h) });
        },
      });
    });
    await consumer.disconnect();
    expect(received).toEqual({ key: 'k1', value: 'hello', header: 'v' });
  });

  it('schema registry: registers a JSON schema and encodes/decodes through the Confluent API', async () => {
    const registry = new SchemaRegistry(
      { host: endpoints.schemaRegistryUrl },
      { [SchemaType.JSON]: { strict: false } },
    );
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { name: { type: 'string' }, n: { type: 'integer' } },
      required: ['name'],
    };
    const subject = unique('smoke-subject');
    const { id } = await registry.register(
      { type: SchemaType.JSON, schema: JSON.stringify(schema) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );
    expect(id).toBeGreaterThan(0);
    const bytes = await registry.encode(id, { name: 'warden', n: 3 });
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    expect(await registry.decode(bytes)).toEqual({ name: 'warden', n: 3 });
    await expect(registry.encode(id, { n: 'x' })).rejects.toThrow();
  });

  describe('mongodb wire server', () => {
    const client = new MongoClient(endpoints.mongoUrl);
    afterAll(() => client.close());

    it('inserts, finds, updates and enforces a unique index', async () => {
      const db = client.db(unique('smoke').replace('-', '_'));
      const col = db.collection<{ _id: string; n: number; tag: string }>('items');
      await col.createIndex({ tag: 1 }, { unique: true });
      await col.insertMany([
        { _id: 'a', n: 1, tag: 'x' },
        { _id: 'b', n: 2, tag: 'y' },
      ]);
      expect(await col.findOne({ _id: 'b' })).toEqual({ _id: 'b', n: 2, tag: 'y' });
      await col.updateOne({ _id: 'a' }, { $inc: { n: 10 } });
      const up = await col.findOneAndUpdate(
        { _id: 'c' },
        { $setOnInsert: { n: 0, tag: 'z' } },
        { upsert: true, returnDocument: 'after' },
      );
      expect(up?.tag).toBe('z');
      expect(
        (
          await col
            .find({ n: { $gte: 2 } })
            .sort({ n: 1 })
            .toArray()
        ).map((d) => d._id),
      ).toEqual(['b', 'a']);
      await expect(col.insertOne({ _id: 'd', n: 4, tag: 'x' })).rejects.toThrow(/duplicate key|E11000/i);
      const indexes = await col.indexes();
      expect(indexes.some((i) => i.unique === true && i.key.tag === 1)).toBe(true);
      await db.dropDatabase();
    });
  });
});
