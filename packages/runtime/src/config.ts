import {
  parseProducerKeys,
  parseSigningKey,
  parseVerifyingKeys,
  type ProducerKey,
  type SigningKey,
  type VerifyingKey,
} from '@warden/contracts';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const csv = z
  .string()
  .min(1)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1));

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A minute, and the keys of 10,000 subjects: an erasure holds in every worker within a minute. */
export const DEFAULT_SUBJECT_KEY_CACHE = { ttlMs: 60_000, maxKeys: 10_000 } as const;
/** The most events handled in one transaction (WARDEN_BATCH_SIZE's default). */
export const DEFAULT_BATCH_SIZE = 2_000;
/** How old a transaction's first event may get before it commits (WARDEN_COMMIT_INTERVAL_MS's default). */
export const DEFAULT_COMMIT_INTERVAL_MS = 100;
/** How long a silent group member keeps its partitions (WARDEN_SESSION_TIMEOUT_MS's default; the broker's least is 6 s). */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
/** The first wait of a partition whose dependency is down (WARDEN_OUTAGE_RETRY_BASE_MS's default); it doubles. */
export const DEFAULT_OUTAGE_RETRY_BASE_MS = 250;
/** The longest wait between two tries while a dependency is down (WARDEN_OUTAGE_RETRY_MAX_MS's default). */
export const DEFAULT_OUTAGE_RETRY_MAX_MS = 10_000;
/** How long start() keeps trying a step that meets a dependency down (WARDEN_START_TIMEOUT_MS's default). */
export const DEFAULT_START_TIMEOUT_MS = 120_000;
/** How often a worker probes Kafka, the registry and MongoDB for readiness (WARDEN_HEALTH_PROBE_INTERVAL_MS). */
export const DEFAULT_HEALTH_PROBE_INTERVAL_MS = 5_000;
/** How long one probe may take before its dependency counts as down (WARDEN_HEALTH_PROBE_TIMEOUT_MS). */
export const DEFAULT_HEALTH_PROBE_TIMEOUT_MS = 2_000;
/** How long one event's handling may run before liveness calls the process wedged (WARDEN_WEDGED_AFTER_MS). */
export const DEFAULT_WEDGED_AFTER_MS = 600_000;
/**
 * The longest a MongoDB operation may wait for an answer on its socket, or for a pooled connection
 * (MONGO_OPERATION_TIMEOUT_MS's default): a server that hangs (frozen, half-open connection) fails the operation
 * instead of blocking its handler, and the worker, forever. Below the default group session (30 s): the first
 * operation to hang fails before the member, which sends no heartbeat during one handler call, is evicted.
 */
export const DEFAULT_MONGO_OPERATION_TIMEOUT_MS = 20_000;

// Settings of the worker that are not in the environment: each is defined here once, with its unit in its name.

/** The version a worker stamps in its events' producer field (`name@version`) when its definition names none. */
export const DEFAULT_WORKER_VERSION = '0.1.0';
/** The longest interval between a consumer's heartbeats (kafkajs's own default). */
export const MAX_HEARTBEAT_INTERVAL_MS = 3_000;
/** Heartbeats per session timeout at the least: a member misses this many in a row before the group evicts it. */
export const HEARTBEATS_PER_SESSION = 3;
/**
 * How often a long chunk asks kafkajs whether a heartbeat is due. kafkajs sends one only once its interval has
 * passed; asking once per event would cost more than the event.
 */
export const HEARTBEAT_CHECK_INTERVAL_MS = 250;
/** The most bytes one fetch returns per partition (a message larger than this still comes, alone). */
export const FETCH_MAX_BYTES_PER_PARTITION = 1024 * 1024;
/**
 * How many recently committed event ids a worker remembers to skip the same event published twice (a producer's
 * retry after a lost ack). A window in events, per worker; the oldest id is forgotten first.
 */
export const DEDUPE_WINDOW_EVENTS = 50_000;

/**
 * A task whose keyed state nobody writes for this long has it deleted (WARDEN_STATE_IDLE_TTL_MS's default, 30 days):
 * the bound on the state of a task that never ends (its end lost or never sent). Longer than any wait a task may
 * have (an escalation waits at most its expiry, a task at most its wall time).
 */
export const DEFAULT_STATE_IDLE_TTL_MS = 30 * 24 * 3_600_000;

/** How often a stateful worker looks for due wake-ups (TaskState.wakeAt), in ms (ADR 0027). */
export const STATE_WAKE_CHECK_INTERVAL_MS = 100;

/** Settings of a state changelog topic: compacted (the latest value of each task; a tombstone removes it). */
export const stateChangelogConfig: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'retention.ms': '-1',
};
/**
 * How many listeners one handling may hold on the worker's abort signal at once (a retry's backoff, a tool call, its
 * fetch). Node warns of a leak past 10 listeners on one signal; the worker allows this many per concurrent
 * partition, so the warning still catches a real leak.
 */
export const ABORT_LISTENERS_PER_HANDLING = 16;
/** How long connecting to MongoDB may take to find a server before it fails. */
export const MONGO_SERVER_SELECTION_TIMEOUT_MS = 10_000;
/** How long opening one connection to MongoDB may take. */
export const MONGO_CONNECT_TIMEOUT_MS = 5_000;
/**
 * How often the MongoDB client checks its server (the driver's default is 10 s): after a restart, operations wait
 * for the next check before they use the server again.
 */
export const MONGO_HEARTBEAT_FREQUENCY_MS = 2_000;
/** How long ensureTopics waits for the leaders of topics it created (or another worker created at the same time). */
export const TOPIC_LEADERS_TIMEOUT_MS = 30_000;
/** kafkajs client retries: the first wait, and how many times a request is retried before it fails. */
export const KAFKA_CLIENT_RETRY = { initialRetryTimeMs: 100, retries: 8 } as const;
/**
 * Retries of a partition's transactional producer. Right after a commit the coordinator answers
 * CONCURRENT_TRANSACTIONS until its markers are written (a few ms), so a short first wait keeps each chunk's latency
 * low. (kafkajs's default count of 5 retries; a transaction that still fails is aborted and the chunk handled again.)
 */
export const TRANSACTION_RETRY = { initialRetryTimeMs: 5, maxRetryTimeMs: 1_000 } as const;
/** Partitions of a topic created by ensureTopics when the caller names no count. */
export const DEFAULT_TOPIC_PARTITIONS = 3;

/** An environment variable holding JSON that must match `schema`; problems are named by path. */
export const jsonEnv = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx): z.infer<T> => {
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
      return z.NEVER;
    }
    return parsed.data;
  });

/**
 * A JSON array of regexes naming personal data (ADR 0026): the executor seals any string of a tool result matching
 * one, the planner any piece of the model's output matching one, under the tenant's key. Default: none.
 */
export const sealPatternsEnv = () =>
  z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      try {
        const list = z.array(z.string().min(1).max(500)).max(50).parse(JSON.parse(text));
        return list.map((source) => new RegExp(source, 'u'));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `expected a JSON array of regexes: ${(error as Error).message}` });
        return z.NEVER;
      }
    });

/**
 * An optional setting holding key text, parsed by `parse` (which throws an Error naming the problem, never the key);
 * unset or blank: `empty()`.
 */
export const keyTextEnv = <T>(parse: (text: string) => T, empty: () => T) =>
  z
    .string()
    .optional()
    .transform((s, ctx): T => {
      if (s === undefined || s.trim() === '') return empty();
      try {
        return parse(s);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

/** An optional Ed25519 private key setting, `keyId:base64(PKCS#8 DER)`; unset: undefined. */
export const signingKeyEnv = () => keyTextEnv<SigningKey | undefined>(parseSigningKey, () => undefined);

/** An optional setting of Ed25519 public keys, `keyId:base64(SPKI DER),...`; unset: no keys. */
export const verifyingKeysEnv = () =>
  keyTextEnv(
    (text): Map<string, VerifyingKey> => parseVerifyingKeys(text),
    () => new Map<string, VerifyingKey>(),
  );

/**
 * The environment every worker reads (services extend it). Values come from process.env in the service's
 * config.ts; this package never reads process.env itself.
 */
export const WorkerEnv = z.object({
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  /** TLS to the brokers ("true"); KAFKA_SSL_CA_FILE trusts a private CA (PEM) besides the system's. */
  KAFKA_SSL: z.enum(['true', 'false']).default('false'),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** SASL authentication: plain, scram-sha-256 or scram-sha-512, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. */
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// URL')
    .default('mongodb://127.0.0.1:27017/'),
  MONGO_DB: z.string().min(1).max(60).default('warden'),
  WARDEN_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-z0-9._-]+$/)
    .default('warden'),
  WARDEN_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('warden.'),
  WARDEN_GROUP_ID: z.string().min(1).optional(),
  WARDEN_CONCURRENCY: intFrom(1, 256).default(3),
  WARDEN_MAX_ATTEMPTS: intFrom(1, 50).default(5),
  WARDEN_RETRY_BASE_MS: intFrom(1, 60_000).default(100),
  WARDEN_RETRY_MAX_MS: intFrom(1, 600_000).default(5_000),
  WARDEN_SHUTDOWN_GRACE_MS: intFrom(0, 600_000).default(20_000),
  /** A member silent this long (no heartbeat: a stall, a partition) leaves the group and its partitions move. */
  WARDEN_SESSION_TIMEOUT_MS: intFrom(6_000, 300_000).default(DEFAULT_SESSION_TIMEOUT_MS),
  /** The most events handled in one transaction (their outputs and offsets commit together). */
  WARDEN_BATCH_SIZE: intFrom(1, 100_000).default(DEFAULT_BATCH_SIZE),
  /** A transaction commits once its first event is this old (or at batchSize events, or at the fetch's end). */
  WARDEN_COMMIT_INTERVAL_MS: intFrom(1, 60_000).default(DEFAULT_COMMIT_INTERVAL_MS),
  WARDEN_HTTP_PORT: intFrom(0, 65_535).default(0),
  WARDEN_HTTP_HOST: z.string().default('127.0.0.1'),
  WARDEN_CLAIM_CHECK_BYTES: intFrom(1024, 64 * 1024 * 1024).default(256 * 1024),
  WARDEN_TRANSACTION_TIMEOUT_MS: intFrom(1_000, 900_000).default(60_000),
  /**
   * Which kafkajs coordinator lookups a worker's transaction sends (ADR 0036): `per-transaction` (one FindCoordinator
   * at the transaction's start, a group's coordinator kept between transactions) or `kafkajs` (kafkajs's own: one
   * before each of the four transactional requests).
   */
  WARDEN_KAFKA_COORDINATOR_LOOKUPS: z.enum(['per-transaction', 'kafkajs']).default('per-transaction'),
  /**
   * Sealed personal data (ADR 0026): how long a worker keeps a data subject's key in memory, which bounds how long
   * after `warden erase` another process may still open the subject's values (0: no cache, a lookup per value)...
   */
  WARDEN_SUBJECT_KEY_CACHE_TTL_MS: intFrom(0, 3_600_000).default(DEFAULT_SUBJECT_KEY_CACHE.ttlMs),
  /** ...and how many subjects' keys it keeps. */
  WARDEN_SUBJECT_KEY_CACHE_MAX: intFrom(1, 10_000_000).default(DEFAULT_SUBJECT_KEY_CACHE.maxKeys),
  /** While a dependency is down, a partition waits this long first, then twice as long each time (with jitter)... */
  WARDEN_OUTAGE_RETRY_BASE_MS: intFrom(1, 60_000).default(DEFAULT_OUTAGE_RETRY_BASE_MS),
  /** ...up to this long between two tries. */
  WARDEN_OUTAGE_RETRY_MAX_MS: intFrom(1, 600_000).default(DEFAULT_OUTAGE_RETRY_MAX_MS),
  /**
   * How long start() keeps trying a step (connect, topics, producer, consumer, schema registration) that meets a
   * dependency down or not answering, with the outage backoff, before the worker fails (0: fail at once).
   */
  WARDEN_START_TIMEOUT_MS: intFrom(0, 3_600_000).default(DEFAULT_START_TIMEOUT_MS),
  /**
   * A stateful worker deletes the state of a task nobody wrote for this long (a task that never ended); 0: never.
   * At most a year: a wake-up timer's time must stay a safe integer far from overflow, and nothing waits longer.
   */
  WARDEN_STATE_IDLE_TTL_MS: intFrom(0, 366 * 24 * 3_600_000).default(DEFAULT_STATE_IDLE_TTL_MS),
  /** How often Kafka, the registry and MongoDB are probed for /readyz. */
  WARDEN_HEALTH_PROBE_INTERVAL_MS: intFrom(100, 600_000).default(DEFAULT_HEALTH_PROBE_INTERVAL_MS),
  /** A probe without an answer after this long counts its dependency as down. */
  WARDEN_HEALTH_PROBE_TIMEOUT_MS: intFrom(50, 60_000).default(DEFAULT_HEALTH_PROBE_TIMEOUT_MS),
  /** One event's handling running longer than this makes /livez fail (the process is wedged: restart it). */
  WARDEN_WEDGED_AFTER_MS: intFrom(1_000, 86_400_000).default(DEFAULT_WEDGED_AFTER_MS),
  /** The longest a MongoDB operation waits for its answer or for a pooled connection before it fails. */
  MONGO_OPERATION_TIMEOUT_MS: intFrom(100, 600_000).default(DEFAULT_MONGO_OPERATION_TIMEOUT_MS),
  WARDEN_REDACT_PATTERNS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return [];
      const out: RegExp[] = [];
      for (const source of s
        .split(';;')
        .map((p) => p.trim())
        .filter(Boolean)) {
        try {
          out.push(new RegExp(source, 'g'));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `not a regular expression: ${source}: ${(error as Error).message}` });
        }
      }
      return out;
    }),
  /**
   * Public keys of the services allowed to sign a person's decisions (HumanApproved / HumanDenied):
   * `keyId:base64(Ed25519 SPKI DER),...`. Without them every decision is refused, unless
   * WARDEN_INSECURE_UNSIGNED_DECISIONS=true.
   */
  WARDEN_DECISION_PUBLIC_KEYS: verifyingKeysEnv(),
  /**
   * This worker's producer key, `keyId:base64(Ed25519 PKCS#8 DER)`: it signs every event the worker produces (a
   * Kafka header over the event's hash), so the auditor and `warden verify` can tell its events from forged ones
   * (ADR 0018). Unset: events go unsigned, which a verifier holding producer keys reports.
   */
  WARDEN_PRODUCER_SIGNING_KEY: signingKeyEnv(),
  /**
   * The producers' public keys, each under its role: `role=keyId:base64(Ed25519 SPKI DER),...` (roles submitter,
   * planner, guard, executor, escalation, auditor). The auditor and `warden verify` check every event against them
   * (signed by a producer whose role may emit its type). Unset: producers are not checked.
   */
  WARDEN_PRODUCER_PUBLIC_KEYS: keyTextEnv(parseProducerKeys, (): Map<string, ProducerKey> => new Map()),
  /** Development only: accept people's decisions without checking their signatures (logged loudly at start). */
  WARDEN_INSECURE_UNSIGNED_DECISIONS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((s) => s === 'true'),
  /** The retired shared-secret keys (ADR 0010): refused with a pointer to their replacement. */
  WARDEN_APPROVAL_KEYS: z
    .undefined({
      error: 'decisions are signed with Ed25519 now: set WARDEN_DECISION_PUBLIC_KEYS (keyId:base64spki) instead',
    })
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type WorkerEnv = z.infer<typeof WorkerEnv>;

/**
 * Parses an environment with a zod schema. Unknown variables are ignored; bad or missing ones throw a ConfigError
 * listing every problem by variable name.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
}
