import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin, type LogEntry, type ITopicConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { DEFAULT_TOPIC_PARTITIONS, KAFKA_CLIENT_RETRY, TOPIC_LEADERS_TIMEOUT_MS } from './config.js';
import { auditTopicConfig } from './topics.js';

const CONCURRENT_TRANSACTIONS = 'another concurrent operation on the same transaction';

const isConcurrentTransactions = (text: unknown): boolean =>
  typeof text === 'string' && text.includes(CONCURRENT_TRANSACTIONS);

/**
 * kafkajs warns at every idempotent producer's creation that a bounded retry count "may invalidate EoS guarantees"
 * (a send that gives up, retried by the caller, is a new record). Warden bounds retries on purpose, so that a failed
 * publish surfaces: a failed transaction is aborted and its producer fenced and replaced (ADR 0009), and a
 * Publisher's retried event keeps its id, which consumers deduplicate. The warning says nothing new: debug.
 */
const LIMITED_RETRIES = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * kafkajs's lines for each failed connection attempt to a broker that is down: dozens a second while it restarts. A
 * worker's dependency monitor logs the outage once, with the reason, and again when the broker is back (ADR 0021),
 * and a request that still fails is thrown: these are debug.
 */
const CONNECTION_ATTEMPT = /^(Connection error: |Failed to connect to seed broker|Connection timeout)/;

/**
 * The texts of the Kafka protocol errors kafkajs retries by itself (a coordinator moving or loading, a leader
 * election), from kafkajs's own table, so they match what it logs. kafkajs does not export the table; should a
 * later kafkajs move it, these answers are simply logged at kafkajs's level again.
 */
function retriableAnswers(): ReadonlySet<string> {
  try {
    const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error') as {
      errorCodes: ReadonlyArray<{ message: string; retriable: boolean }>;
    };
    return new Set(errorCodes.filter((e) => e.retriable).map((e) => e.message));
  } catch {
    return new Set();
  }
}
const RETRIABLE_ANSWERS = retriableAnswers();

/**
 * kafkajs's logCreator writing to pino. Answers that kafkajs retries by itself are logged at debug, not as the error
 * kafkajs calls them: the coordinator's "concurrent transactions" right after a commit, and any retriable error in
 * kafkajs's log of one response ("Response InitProducerId(...)"). A request that still fails after its retries is
 * logged, and thrown, at its own level. The warning about bounded retries on idempotent producers is debug too.
 */
export function kafkajsLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () =>
    ({ level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry;
      const retried =
        // kafkajs names it in the entry's error, or (for a produce it retries) only in the message.
        isConcurrentTransactions(rest.error) ||
        isConcurrentTransactions(message) ||
        message === LIMITED_RETRIES ||
        CONNECTION_ATTEMPT.test(message) ||
        (message.startsWith('Response ') && typeof rest.error === 'string' && RETRIABLE_ANSWERS.has(rest.error));
      if (retried) logger.debug(rest, message);
      else if (level === logLevel.ERROR) logger.error(rest, message);
      else if (level === logLevel.WARN) logger.warn(rest, message);
      else logger.debug(rest, message);
    };
}

/** TLS and SASL to the brokers, passed through to kafkajs. */
export interface KafkaSecurity {
  readonly ssl: boolean;
  /** A PEM file of the CA that signed the brokers' certificates (besides the system's). */
  readonly caFile?: string;
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
}

/** A kafkajs client whose logs go to pino; with `security`, over TLS and/or SASL. */
export function createKafka(
  brokers: readonly string[],
  clientId: string,
  logger: Logger,
  security?: KafkaSecurity,
): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    ...(security === undefined
      ? {}
      : {
          ssl: security.caFile === undefined ? security.ssl : { ca: [readFileSync(security.caFile, 'utf8')] },
          ...(security.sasl === undefined ? {} : { sasl: { ...security.sasl } as SASLOptions }),
        }),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: KAFKA_CLIENT_RETRY.initialRetryTimeMs, retries: KAFKA_CLIENT_RETRY.retries },
    logCreator: kafkajsLogCreator(logger.child({ component: 'kafkajs' })),
  });
}

/** Options of ensureTopics. */
export interface EnsureTopicsOptions {
  readonly partitions?: number;
  readonly replicationFactor?: number;
  /** Extra configs; audit settings (keep forever, no compaction) are the default. */
  readonly configs?: Readonly<Record<string, string>>;
}

/** Creates the topics that do not exist yet and waits until their leaders are known. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  options: EnsureTopicsOptions = {},
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const configs = { ...auditTopicConfig, ...options.configs };
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t))
    .map((topic) => ({
      topic,
      numPartitions: options.partitions ?? DEFAULT_TOPIC_PARTITIONS,
      replicationFactor: options.replicationFactor ?? 1,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: false });
  } catch (error) {
    // Another worker created some of them first (TOPIC_ALREADY_EXISTS), or the broker has not caught up with its
    // own creation yet: either way the wait below decides.
    if (!isRetriableKafkaError(error) && !isTopicExistsError(error)) throw error;
  }
  await waitForLeaders(
    admin,
    missing.map((t) => t.topic),
  );
}

function isRetriableKafkaError(error: unknown): boolean {
  const e = error as { retriable?: unknown; errors?: unknown[] };
  if (e.retriable === true) return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isRetriableKafkaError);
}

function isTopicExistsError(error: unknown): boolean {
  const e = error as { type?: unknown; errors?: unknown[] };
  if (e.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isTopicExistsError);
}

/**
 * Waits until every partition of the topics has a leader. kafkajs's own wait (createTopics' waitForLeaders) gives
 * up on "This server does not host this topic-partition", which a broker answers for a moment after a creation,
 * above all when several workers create the same topics at once; here that answer is waited out too.
 */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + TOPIC_LEADERS_TIMEOUT_MS;
  for (let pauseMs = 50; ; pauseMs = Math.min(pauseMs * 2, 1_000)) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready =
        found.length === topics.length &&
        found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
    } catch (error) {
      if (!isRetriableKafkaError(error) || Date.now() >= deadline) throw error;
    }
    if (Date.now() >= deadline)
      throw new Error(`topics ${topics.join(', ')} have no leaders after ${TOPIC_LEADERS_TIMEOUT_MS} ms`);
    await sleep(pauseMs);
  }
}
