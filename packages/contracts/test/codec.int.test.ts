import fc from 'fast-check';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobCorruptError,
  EventCodec,
  EventValidationError,
  MalformedEventError,
  MemoryBlobStore,
  MongoBlobStore,
  SchemaIncompatibleError,
  UnknownEventTypeError,
  canonicalHash,
  canonicalJson,
  createRegistryClient,
  eventJsonSchema,
  follow,
  isWardenError,
  newTask,
  sha256Hex,
  verifyChain,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { stack, unique } from '../../../test/support/index.js';

const CANARY = 'sk-proj-CANARY0000secretSECRET1111zz';

describe('EventCodec against the real registry and MongoDB', () => {
  const endpoints = stack();
  const registry = createRegistryClient(endpoints.schemaRegistryUrl);
  const mongo = new MongoClient(endpoints.mongoUrl);
  let codec: EventCodec;

  beforeAll(async () => {
    await mongo.connect();
    codec = new EventCodec({
      registry,
      blobs: new MongoBlobStore(mongo.db(unique('blobs').replace('-', '_'))),
      claimCheckThresholdBytes: 64 * 1024,
      subjectPrefix: `${unique('codec')}.`,
    });
    await codec.registerAll();
  });
  afterAll(() => mongo.close());

  it('round-trips an event in the registry wire format with its schema id, keeping the hash', async () => {
    const draft = newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' });
    const encoded = await codec.encode(draft);
    expect(encoded.bytes[0]).toBe(0);
    const schemaId = encoded.bytes.readInt32BE(1);
    expect(schemaId).toBe(await codec.schemaIdOf('TaskSubmitted'));
    const decoded = await codec.decode(encoded.bytes);
    expect(decoded.event.type).toBe('TaskSubmitted');
    expect(decoded.hash).toBe(encoded.hash);
    expect(decoded.hash).toBe(canonicalHash(decoded.envelope));
    expect(decoded.event.data).toEqual(encoded.envelope.data);
    // The JSON on the wire is the canonical form: a reader's sha256 of it is the event's hash.
    const text = encoded.bytes.subarray(5).toString('utf8');
    expect(text).toBe(canonicalJson(encoded.envelope));
    expect(sha256Hex(text)).toBe(encoded.hash);
  });

  it('refuses an invalid event on produce with the field named', async () => {
    const draft = newTask(sampleTask({ goal: '' }), { tenantId: 'tenant-a', producer: 'test' });
    await expect(codec.encode(draft)).rejects.toThrow(/data\.goal/);
    await expect(codec.encode(draft)).rejects.toBeInstanceOf(EventValidationError);
  });

  it('claim-checks a 5 MB payload through the blob store and resolves it on read', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const first = await codec.encode(newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' }));
    const draft = follow(
      first,
      'ToolSucceeded',
      { actionId: 'a1', tool: 'files.read', effectKey: 'k', result: { content: big }, durationMs: 5 },
      { producer: 'test' },
    );
    const encoded = await codec.encode(draft);
    expect(encoded.bytes.length).toBeLessThan(4096);
    expect(encoded.envelope.data).toMatchObject({ $claimCheck: { contentType: 'application/json' } });
    const decoded = await codec.decode(encoded.bytes);
    expect(decoded.event.type === 'ToolSucceeded' && decoded.event.data.result).toEqual({ content: big });
    expect(verifyChain([first.envelope, decoded.envelope]).ok).toBe(true);
  });

  it('refuses a claim-checked payload whose blob was altered', async () => {
    const blobs = new MemoryBlobStore();
    const small = new EventCodec({
      registry,
      blobs,
      claimCheckThresholdBytes: 1024,
      subjectPrefix: `${unique('cc')}.`,
    });
    const encoded = await small.encode(
      newTask(sampleTask({ goal: 'g'.repeat(4000) }), { tenantId: 't', producer: 'test' }),
    );
    const pointer = (encoded.envelope.data as { $claimCheck: { sha256: string } }).$claimCheck;
    blobs.tamper(pointer.sha256, Buffer.from('{"goal":"evil"}'));
    await expect(small.decode(encoded.bytes)).rejects.toBeInstanceOf(BlobCorruptError);
  });

  it('refuses an incompatible schema change at registration with a clear error', async () => {
    const subject = unique('compat');
    const v1 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
      additionalProperties: false,
    };
    await registry.register(subject, v1);
    const compatible = { ...v1, properties: { ...v1.properties, b: { type: 'string' } } };
    await expect(registry.register(subject, compatible)).resolves.toBeGreaterThan(0);
    const incompatible = {
      ...compatible,
      properties: { ...compatible.properties, c: { type: 'integer' } },
      required: ['a', 'c'],
    };
    const failure = registry.register(subject, incompatible);
    await expect(failure).rejects.toBeInstanceOf(SchemaIncompatibleError);
    await expect(registry.register(subject, incompatible)).rejects.toThrow(
      new RegExp(`subject ${subject} is not BACKWARD compatible`),
    );
  });

  it('registers safely when several workers start at once on fresh subjects', async () => {
    const prefix = `${unique('race')}.`;
    // Separate clients, as separate processes have: nothing is shared but the registry.
    const codecs = Array.from(
      { length: 6 },
      () => new EventCodec({ registry: endpoints.schemaRegistryUrl, subjectPrefix: prefix }),
    );
    const ids = await Promise.all(codecs.map((c) => c.schemaIdOf('TaskSubmitted')));
    expect(new Set(ids).size).toBe(1);
    const config = await fetch(`${endpoints.schemaRegistryUrl}/config/${prefix}TaskSubmitted`);
    expect(await config.json()).toMatchObject({ compatibilityLevel: 'BACKWARD' });
  });

  it('takes over a subject that a racing first registration left at compatibility NONE', async () => {
    const prefix = `${unique('none')}.`;
    const subject = `${prefix}TaskSubmitted`;
    // What another worker leaves between its registration and its compatibility update.
    const other = new EventCodec({ registry: endpoints.schemaRegistryUrl, subjectPrefix: `${unique('src')}.` });
    const raw = await fetch(`${endpoints.schemaRegistryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schemaType: 'JSON', schema: JSON.stringify(eventJsonSchema('TaskSubmitted')) }),
    });
    expect(raw.status).toBe(200);
    expect(await (await fetch(`${endpoints.schemaRegistryUrl}/config/${subject}`)).json()).toMatchObject({
      compatibilityLevel: 'NONE',
    });
    const late = new EventCodec({ registry: endpoints.schemaRegistryUrl, subjectPrefix: prefix });
    await expect(late.schemaIdOf('TaskSubmitted')).resolves.toBe(((await raw.json()) as { id: number }).id);
    expect(await (await fetch(`${endpoints.schemaRegistryUrl}/config/${subject}`)).json()).toMatchObject({
      compatibilityLevel: 'BACKWARD',
    });
    await expect(other.schemaIdOf('TaskSubmitted')).resolves.toBeGreaterThan(0);
  });

  it("refuses an event framed with another type's schema id", async () => {
    const encoded = await codec.encode(newTask(sampleTask(), { tenantId: 't', producer: 'test' }));
    const forged = Buffer.from(encoded.bytes);
    forged.writeInt32BE(await codec.schemaIdOf('ToolSucceeded'), 1);
    const failure = codec.decode(forged);
    await expect(failure).rejects.toBeInstanceOf(MalformedEventError);
    await expect(codec.decode(forged)).rejects.toThrow(
      /TaskSubmitted event is framed with schema id \d+, which is registered for ToolSucceeded/,
    );
    // The same bytes with their own id still decode.
    await expect(codec.decode(encoded.bytes)).resolves.toMatchObject({ event: { type: 'TaskSubmitted' } });
  });

  it('decodes random and malformed bytes only into typed errors', async () => {
    const valid = (await codec.encode(newTask(sampleTask(), { tenantId: 't', producer: 'test' }))).bytes;
    const samples = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.concat([valid.subarray(0, 5), Buffer.from(a)])),
        fc.json().map((j) => Buffer.concat([valid.subarray(0, 5), Buffer.from(j)])),
        fc.nat({ max: valid.length - 1 }).map((n) => valid.subarray(0, n)),
      ),
      { numRuns: 150, seed: 42 },
    );
    for (const bytes of [...samples, null, Buffer.alloc(0)]) {
      try {
        await codec.decode(bytes);
        throw new Error(`decoded garbage: ${bytes?.toString('hex')}`);
      } catch (error) {
        expect(isWardenError(error), `${String(error)} for ${bytes?.toString('hex')}`).toBe(true);
      }
    }
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x00]), Buffer.from('{}')]);
    await expect(codec.decode(unknownId)).rejects.toBeInstanceOf(UnknownEventTypeError);
  });

  it('never lets a canary secret reach a topic', async () => {
    const kafka = new Kafka({
      clientId: unique('canary'),
      brokers: endpoints.kafkaBrokers.split(','),
      logLevel: logLevel.NOTHING,
      ...(endpoints.kafkaSasl === undefined ? {} : { sasl: { ...endpoints.kafkaSasl } as SASLOptions }),
    });
    const topic = unique('canary-topic');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const draft = newTask(
      sampleTask({
        goal: `Call the API with ${CANARY}`,
        input: { note: `key=${CANARY}`, apiKey: CANARY, nested: [CANARY] },
      }),
      { tenantId: 'tenant-a', producer: 'test' },
    );
    const encoded = await codec.encode(draft);
    expect(encoded.redactions).toBeGreaterThanOrEqual(4);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: draft.taskId, value: encoded.bytes }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: unique('canary-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const raw = await new Promise<Buffer>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value ?? Buffer.alloc(0)) });
    });
    await consumer.disconnect();
    expect(raw.length).toBeGreaterThan(100);
    expect(raw.toString('utf8')).not.toContain(CANARY);
    expect(raw.toString('utf8')).not.toContain('CANARY0000');
    expect(raw.toString('utf8')).toContain('[REDACTED');
  });
});
