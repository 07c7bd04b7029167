import { randomBytes } from 'node:crypto';
import {
  EventCodec,
  createRegistryClient,
  MongoBlobStore,
  type DecodedEvent,
  type EncodedEvent,
  type EventDraft,
  type WardenEvent,
} from '@warden/contracts';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { connectRuntime, type WorkerRuntimeConfig } from '../deps.js';
import { Publisher, producerConfig } from '../publisher.js';
import { createKafka, ensureTopics, type KafkaSecurity } from '../kafka.js';
import { Topics } from '../topics.js';

/** Endpoints of the servers a test runs against. */
export interface TestEndpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly mongoUrl: string;
  /** SASL credentials for the brokers (the local stack's admin), when they require authentication. */
  readonly kafkaSasl?: TestKafkaSasl;
  /** The stack's users file (one principal per worker, ADR 0019), to run workers as their own principals. */
  readonly kafkaUsersFile?: string;
}

/** SASL credentials of a test run (ADR 0019). */
export interface TestKafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** The client security of a test run's brokers; undefined when they take plaintext without authentication. */
export function testKafkaSecurity(endpoints: TestEndpoints): KafkaSecurity | undefined {
  return endpoints.kafkaSasl === undefined ? undefined : { ssl: false, sasl: { ...endpoints.kafkaSasl } };
}

/** The KAFKA_* environment of a worker process started by a test: brokers and, when needed, SASL credentials. */
export function testKafkaEnv(endpoints: TestEndpoints): Record<string, string> {
  const sasl = endpoints.kafkaSasl;
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    ...(sasl === undefined
      ? {}
      : {
          KAFKA_SASL_MECHANISM: sasl.mechanism,
          KAFKA_SASL_USERNAME: sasl.username,
          KAFKA_SASL_PASSWORD: sasl.password,
        }),
  };
}

/** A kafkajs client for a test, connecting as the test run's principal. */
export function testKafka(endpoints: TestEndpoints, clientId = `test-${randomSuffix()}`): Kafka {
  return createKafka(
    endpoints.kafkaBrokers.split(','),
    clientId,
    pino({ level: 'error' }),
    testKafkaSecurity(endpoints),
  );
}

/**
 * The registry subject prefix of this test process: schemas registered by tests never touch the `warden.` subjects
 * that real workers use, so a schema change under development cannot poison them.
 */
const testSubjectPrefix = `test-${randomBytes(4).toString('hex')}.`;

/** A short random suffix for unique names. */
export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/**
 * A worker configuration for one test: unique topic prefix, consumer group and database, short retries and grace.
 * Pass the same `topicPrefix` and `mongoDb` to several workers that must see each other.
 */
export function testWorkerConfig(
  endpoints: TestEndpoints,
  overrides: Partial<WorkerRuntimeConfig> = {},
): WorkerRuntimeConfig {
  const suffix = randomSuffix();
  const kafkaSecurity = testKafkaSecurity(endpoints);
  return {
    brokers: endpoints.kafkaBrokers.split(','),
    ...(kafkaSecurity === undefined ? {} : { kafkaSecurity }),
    registryUrl: endpoints.schemaRegistryUrl,
    mongoUrl: endpoints.mongoUrl,
    mongoDb: `t_${suffix}`,
    topicPrefix: `t-${suffix}`,
    concurrency: 3,
    maxAttempts: 3,
    retryBaseMs: 10,
    retryMaxMs: 50,
    shutdownGraceMs: 10_000,
    httpPort: 0,
    httpHost: '127.0.0.1',
    claimCheckBytes: 256 * 1024,
    transactionTimeoutMs: 30_000,
    redactPatterns: [],
    logLevel: 'warn',
    subjectPrefix: testSubjectPrefix,
    ...overrides,
  };
}

/**
 * Polls `condition` until it returns a value other than undefined/false, or throws after `timeoutMs`. `what` names
 * the awaited condition in the error; as a function it is evaluated at the timeout (e.g. a child's output by then).
 */
export async function waitUntil<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${
          typeof options.what === 'function' ? options.what() : (options.what ?? 'a condition')
        }`,
      );
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/** A Kafka message seen by a collector, decoded when it could be. */
export interface CollectedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly decoded?: DecodedEvent;
}

/**
 * Reads topics from the beginning with its own group and keeps every message (decoded through the codec), so a
 * test can wait for the events a worker produced.
 */
export class EventCollector {
  readonly messages: CollectedMessage[] = [];
  private consumer: Consumer | undefined;

  private constructor(
    private readonly kafka: Kafka,
    private readonly codec: EventCodec,
    private readonly mongo: MongoClient,
  ) {}

  /** Starts collecting from the given topics. */
  static async start(
    endpoints: TestEndpoints,
    topics: readonly string[],
    mongoDb = `t_${randomSuffix()}`,
  ): Promise<EventCollector> {
    const kafka = testKafka(endpoints, `collector-${randomSuffix()}`);
    const mongo = new MongoClient(endpoints.mongoUrl);
    await mongo.connect();
    const registry = createRegistryClient(endpoints.schemaRegistryUrl);
    const codec = new EventCodec({ registry, blobs: new MongoBlobStore(mongo.db(mongoDb)) });
    const collector = new EventCollector(kafka, codec, mongo);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topics);
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `collector-${randomSuffix()}` });
    collector.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        let decoded: DecodedEvent | undefined;
        try {
          decoded = await codec.decode(message.value);
        } catch {
          decoded = undefined; // kept undecoded: tests of bad input look at the raw message
        }
        collector.messages.push({ topic, partition, message, ...(decoded === undefined ? {} : { decoded }) });
      },
    });
    await joined;
    return collector;
  }

  /** The decoded events seen so far. */
  events(): WardenEvent[] {
    return this.messages.flatMap((m) => (m.decoded === undefined ? [] : [m.decoded.event]));
  }

  /** Waits until `predicate` holds over the events seen, and returns them. */
  async waitFor(
    predicate: (events: WardenEvent[]) => boolean,
    timeoutMs = 30_000,
    what = 'events',
  ): Promise<WardenEvent[]> {
    return waitUntil(() => (predicate(this.events()) ? this.events() : undefined), { timeoutMs, what });
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
    await this.mongo.close();
  }
}

/** Creates Warden's topics under a prefix (audit settings) and returns them. */
export async function createTestTopics(endpoints: TestEndpoints, prefix: string): Promise<Topics> {
  const topics = new Topics(prefix);
  const kafka = testKafka(endpoints, `setup-${randomSuffix()}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics.all());
  } finally {
    await admin.disconnect();
  }
  return topics;
}

/** A publisher of drafts for tests (its own producer and codec); close() when done. */
export interface TestPublisher {
  publish(...drafts: EventDraft[]): Promise<EncodedEvent[]>;
  /** Sends raw bytes (malformed input) to a topic. */
  sendRaw(topic: string, key: string, value: Buffer, headers?: Record<string, string>): Promise<void>;
  readonly codec: EventCodec;
  close(): Promise<void>;
}

/** Starts a TestPublisher for a worker configuration (same topics and blob store). */
export async function startTestPublisher(config: WorkerRuntimeConfig): Promise<TestPublisher> {
  const deps = await connectRuntime(`publisher-${randomSuffix()}`, config, pino({ level: 'error' }));
  const producer = deps.kafka.producer(producerConfig);
  await producer.connect();
  const publisher = new Publisher(producer, deps.codec, deps.topics);
  return {
    codec: deps.codec,
    publish: (...drafts) => publisher.publish(...drafts),
    sendRaw: async (topic, key, value, headers = {}) => {
      await producer.send({ topic, acks: -1, messages: [{ key, value, headers }] });
    },
    close: async () => {
      await producer.disconnect();
      await deps.mongo.close();
    },
  };
}

export {
  CHILD_READY_LINE,
  childWorkerConfig,
  runAsChildWorker,
  startChildWorker,
  type ChildWorker,
  type ChildWorkerOptions,
} from './child-worker.js';
export {
  createMemorySchemaRegistry,
  createTestCodec,
  createTestHandlerContext,
  type TestHandlerContext,
  type TestHandlerContextOptions,
} from './handler-context.js';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
export { readStateChangelog } from './state-changelog.js';
