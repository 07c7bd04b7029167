import {
  CachedSubjectKeyStore,
  EventCodec,
  createRegistryClient,
  MongoBlobStore,
  MongoSubjectKeyStore,
  Redactor,
  type BlobStore,
  type SubjectKeyCacheSettings,
  type DecisionTrust,
  type ProducerKey,
  type SigningKey,
} from '@warden/contracts';
import type { Kafka } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import { pino, type Logger } from 'pino';
import {
  DEFAULT_MONGO_OPERATION_TIMEOUT_MS,
  DEFAULT_SUBJECT_KEY_CACHE,
  MONGO_CONNECT_TIMEOUT_MS,
  MONGO_HEARTBEAT_FREQUENCY_MS,
  MONGO_SERVER_SELECTION_TIMEOUT_MS,
  type WorkerEnv,
} from './config.js';
import { ConfigError } from './errors.js';
import { createKafka, type KafkaSecurity } from './kafka.js';
import { Topics } from './topics.js';

/** What a worker needs to run, derived from WorkerEnv (or built by hand in tests). */
export interface WorkerRuntimeConfig {
  readonly brokers: readonly string[];
  /** TLS and SASL to the brokers (a remote cluster); none: plaintext. */
  readonly kafkaSecurity?: KafkaSecurity;
  readonly registryUrl: string;
  readonly mongoUrl: string;
  readonly mongoDb: string;
  readonly topicPrefix: string;
  /** Consumer group; defaults to `<topicPrefix>.<worker name>`. */
  readonly groupId?: string;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly shutdownGraceMs: number;
  /** Consumer group session timeout (default 30 s; the broker's minimum is 6 s). */
  readonly sessionTimeoutMs?: number;
  readonly httpPort: number;
  readonly httpHost: string;
  readonly claimCheckBytes: number;
  /** How long the broker lets a worker's open transaction live before aborting it (a hung or dead owner). */
  readonly transactionTimeoutMs: number;
  /** kafkajs's coordinator lookups per transaction (ADR 0036; absent: `per-transaction`). */
  readonly coordinatorLookups?: 'per-transaction' | 'kafkajs';
  readonly redactPatterns: readonly RegExp[];
  /** Literal secrets of this process (API keys) that must never appear in an event. */
  readonly secretLiterals?: readonly string[];
  /**
   * Which signatures a person's decision must carry (public keys, or the insecure development setting). Unset: no
   * keys, so every decision is refused.
   */
  readonly decisionTrust?: DecisionTrust;
  /** The worker's producer key (WARDEN_PRODUCER_SIGNING_KEY): signs every event it produces. */
  readonly producerKey?: SigningKey;
  /** The producers' public keys by key id, with their roles (WARDEN_PRODUCER_PUBLIC_KEYS): for verifiers. */
  readonly producerKeys?: ReadonlyMap<string, ProducerKey>;
  readonly logLevel: string;
  /** The cache of data subjects' keys of the workers that seal or open personal data (default DEFAULT_SUBJECT_KEY_CACHE). */
  readonly subjectKeyCache?: SubjectKeyCacheSettings;
  /** The most messages handled in one transaction (outputs + consumed offsets committed together). Default 2000. */
  readonly batchSize?: number;
  /**
   * The longest a transaction's chunk stays open: once this long has passed since its first message, the chunk is
   * committed after the message being handled. Default 100 ms.
   */
  readonly commitIntervalMs?: number;
  /** Registry subject prefix (subject = prefix + event type). Default "warden.". */
  readonly subjectPrefix?: string;
  /** The first wait of a partition whose dependency is down; it doubles, with jitter. Default 250 ms. */
  readonly outageRetryBaseMs?: number;
  /** The longest wait between two tries while a dependency is down. Default 10 s. */
  readonly outageRetryMaxMs?: number;
  /** How long start() keeps trying a step that meets a dependency down (0: fail at once). Default 120 s. */
  readonly startTimeoutMs?: number;
  /** A stateful worker deletes the state of a task nobody wrote for this long (0: never; default 30 days). */
  readonly stateIdleTtlMs?: number;
  /** How often the dependencies are probed for readiness. Default 5 s. */
  readonly healthProbeIntervalMs?: number;
  /** How long a probe may take before its dependency counts as down. Default 2 s. */
  readonly healthProbeTimeoutMs?: number;
  /** How long one event's handling may run before liveness calls the process wedged. Default 10 min. */
  readonly wedgedAfterMs?: number;
  /** The longest a MongoDB operation waits for its answer or a pooled connection. Default 20 s. */
  readonly mongoOperationTimeoutMs?: number;
}

/** The runtime part of a service's configuration, from the parsed environment. */
export function runtimeConfigFrom(env: WorkerEnv): WorkerRuntimeConfig {
  const kafkaSecurity = kafkaSecurityFrom(env);
  return {
    brokers: env.KAFKA_BROKERS,
    ...(kafkaSecurity === undefined ? {} : { kafkaSecurity }),
    registryUrl: env.SCHEMA_REGISTRY_URL,
    mongoUrl: env.MONGO_URL,
    mongoDb: env.MONGO_DB,
    topicPrefix: env.WARDEN_TOPIC_PREFIX,
    subjectPrefix: env.WARDEN_SUBJECT_PREFIX,
    ...(env.WARDEN_GROUP_ID === undefined ? {} : { groupId: env.WARDEN_GROUP_ID }),
    concurrency: env.WARDEN_CONCURRENCY,
    maxAttempts: env.WARDEN_MAX_ATTEMPTS,
    retryBaseMs: env.WARDEN_RETRY_BASE_MS,
    retryMaxMs: env.WARDEN_RETRY_MAX_MS,
    shutdownGraceMs: env.WARDEN_SHUTDOWN_GRACE_MS,
    sessionTimeoutMs: env.WARDEN_SESSION_TIMEOUT_MS,
    batchSize: env.WARDEN_BATCH_SIZE,
    commitIntervalMs: env.WARDEN_COMMIT_INTERVAL_MS,
    httpPort: env.WARDEN_HTTP_PORT,
    httpHost: env.WARDEN_HTTP_HOST,
    claimCheckBytes: env.WARDEN_CLAIM_CHECK_BYTES,
    transactionTimeoutMs: env.WARDEN_TRANSACTION_TIMEOUT_MS,
    coordinatorLookups: env.WARDEN_KAFKA_COORDINATOR_LOOKUPS,
    subjectKeyCache: { ttlMs: env.WARDEN_SUBJECT_KEY_CACHE_TTL_MS, maxKeys: env.WARDEN_SUBJECT_KEY_CACHE_MAX },
    outageRetryBaseMs: env.WARDEN_OUTAGE_RETRY_BASE_MS,
    outageRetryMaxMs: env.WARDEN_OUTAGE_RETRY_MAX_MS,
    startTimeoutMs: env.WARDEN_START_TIMEOUT_MS,
    stateIdleTtlMs: env.WARDEN_STATE_IDLE_TTL_MS,
    healthProbeIntervalMs: env.WARDEN_HEALTH_PROBE_INTERVAL_MS,
    healthProbeTimeoutMs: env.WARDEN_HEALTH_PROBE_TIMEOUT_MS,
    wedgedAfterMs: env.WARDEN_WEDGED_AFTER_MS,
    mongoOperationTimeoutMs: env.MONGO_OPERATION_TIMEOUT_MS,
    redactPatterns: env.WARDEN_REDACT_PATTERNS,
    logLevel: env.LOG_LEVEL,
    decisionTrust: {
      keys: env.WARDEN_DECISION_PUBLIC_KEYS,
      insecureAcceptUnsigned: env.WARDEN_INSECURE_UNSIGNED_DECISIONS,
    },
    ...(env.WARDEN_PRODUCER_SIGNING_KEY === undefined ? {} : { producerKey: env.WARDEN_PRODUCER_SIGNING_KEY }),
    ...(env.WARDEN_PRODUCER_PUBLIC_KEYS.size === 0 ? {} : { producerKeys: env.WARDEN_PRODUCER_PUBLIC_KEYS }),
  };
}

/** TLS and SASL settings from the environment; a mechanism without both its username and password is refused. */
function kafkaSecurityFrom(env: WorkerEnv): KafkaSecurity | undefined {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  if (mechanism !== undefined && (env.KAFKA_SASL_USERNAME === undefined || env.KAFKA_SASL_PASSWORD === undefined)) {
    throw new ConfigError(
      `invalid configuration:\n  KAFKA_SASL_MECHANISM ${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
    );
  }
  const ssl = env.KAFKA_SSL === 'true' || env.KAFKA_SSL_CA_FILE !== undefined;
  if (!ssl && mechanism === undefined) return undefined;
  return {
    ssl,
    ...(env.KAFKA_SSL_CA_FILE === undefined ? {} : { caFile: env.KAFKA_SSL_CA_FILE }),
    ...(mechanism === undefined
      ? {}
      : { sasl: { mechanism, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! } }),
  };
}

/** Connections and helpers shared by a worker and its handlers. */
export interface RuntimeDeps {
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  readonly mongo: MongoClient;
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly topics: Topics;
  readonly config: WorkerRuntimeConfig;
}

/**
 * A MongoDB client whose every operation is bounded in time: finding a server (serverSelectionTimeoutMS), opening a
 * connection (connectTimeoutMS), waiting for a pooled connection (waitQueueTimeoutMS) and waiting for an answer
 * (socketTimeoutMS). Without the last two, an operation on a server that hangs (frozen, or a half-open connection
 * after a restart) never returns, and its handler, its partition and the worker's heartbeats stop with it (issue
 * #24). The server is checked every MONGO_HEARTBEAT_FREQUENCY_MS, so a restarted server is used again within
 * seconds. A failed operation is an outage (dependencyOf): the worker waits and handles the event again.
 */
export function createMongoClient(url: string, operationTimeoutMs = DEFAULT_MONGO_OPERATION_TIMEOUT_MS): MongoClient {
  return new MongoClient(url, {
    serverSelectionTimeoutMS: MONGO_SERVER_SELECTION_TIMEOUT_MS,
    connectTimeoutMS: MONGO_CONNECT_TIMEOUT_MS,
    socketTimeoutMS: operationTimeoutMs,
    waitQueueTimeoutMS: operationTimeoutMs,
    heartbeatFrequencyMS: MONGO_HEARTBEAT_FREQUENCY_MS,
  });
}

/** Opens the connections a worker needs. The caller closes `mongo`. */
export async function connectRuntime(name: string, config: WorkerRuntimeConfig, logger?: Logger): Promise<RuntimeDeps> {
  const log = logger ?? pino({ name, level: config.logLevel });
  const mongo = createMongoClient(config.mongoUrl, config.mongoOperationTimeoutMs);
  await mongo.connect();
  const db = mongo.db(config.mongoDb);
  const blobs = new MongoBlobStore(db);
  const registry = createRegistryClient(config.registryUrl);
  const codec = new EventCodec({
    registry,
    blobs,
    claimCheckThresholdBytes: config.claimCheckBytes,
    subjectPrefix: config.subjectPrefix ?? 'warden.',
    ...(config.producerKey === undefined ? {} : { producerKey: config.producerKey }),
    redactor: new Redactor({
      patterns: config.redactPatterns.map((pattern, i) => ({ name: `configured_${i}`, pattern })),
      literals: [
        ...(config.secretLiterals ?? []),
        ...(config.kafkaSecurity?.sasl === undefined ? [] : [config.kafkaSecurity.sasl.password]),
        ...(config.producerKey === undefined ? [] : [producerKeyText(config.producerKey)]),
      ],
    }),
  });
  return {
    logger: log,
    kafka: createKafka(config.brokers, name, log, config.kafkaSecurity),
    codec,
    mongo,
    db,
    blobs,
    topics: new Topics(config.topicPrefix),
    config,
  };
}

/** The base64 PKCS#8 text of a producer's private key, as configured: never to appear in an event. */
function producerKeyText(key: SigningKey): string {
  return key.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
}

/**
 * The data subjects' keys as a worker reads them (ADR 0026): MongoDB behind a bounded cache, so sealing and opening
 * cost a lookup per subject per cache lifetime, not per value (WARDEN_SUBJECT_KEY_CACHE_TTL_MS=0: no cache).
 */
export function subjectKeysOf(db: Db, config: Pick<WorkerRuntimeConfig, 'subjectKeyCache'>): CachedSubjectKeyStore {
  return new CachedSubjectKeyStore(new MongoSubjectKeyStore(db), config.subjectKeyCache ?? DEFAULT_SUBJECT_KEY_CACHE);
}
