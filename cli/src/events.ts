/**
 * Reading Warden's topics from the CLI: every topic of the prefix, from the beginning, each message decoded through
 * the same codec the workers use (registry framing, zod, claim-checks). `readAll` stops at the end of the log as it
 * was when called; `follow` keeps reading until aborted.
 */
import {
  connectRuntime,
  ensureTopics,
  readTopics,
  TopicKinds,
  type ReadMessage,
  type ReadOptions,
  type RuntimeDeps,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { pino } from 'pino';
import { unavailableError } from './errors.js';

/** Opens the CLI's connections (Kafka, registry, MongoDB for claim-checked payloads). Close `mongo` when done. */
export async function connect(config: WorkerRuntimeConfig): Promise<RuntimeDeps> {
  try {
    return await connectRuntime('warden-cli', { ...config, logLevel: 'error' }, pino({ level: 'fatal' }));
  } catch (error) {
    throw unavailableError(
      `cannot reach MongoDB at ${config.mongoUrl}: ${(error as Error).message}`,
      'start the local stack with `warden stack up`, or set MONGO_URL, KAFKA_BROKERS and SCHEMA_REGISTRY_URL',
      error,
    );
  }
}

/** Every topic of the cluster; a broker that does not answer is a clear `unavailable` error. */
export async function listTopics(deps: RuntimeDeps): Promise<Set<string>> {
  const admin = deps.kafka.admin();
  try {
    await admin.connect();
    return new Set(await admin.listTopics());
  } catch (error) {
    throw unavailableError(
      `cannot reach Kafka at ${deps.config.brokers.join(',')}: ${(error as Error).message}`,
      'start the local stack with `warden stack up`, or set KAFKA_BROKERS',
      error,
    );
  } finally {
    await admin.disconnect();
  }
}

/** The topics of the prefix that exist (the planning, DLQ and others are created by the workers). */
export async function existingTopics(deps: RuntimeDeps): Promise<string[]> {
  const present = await listTopics(deps);
  return TopicKinds.map((k) => deps.topics.of(k)).filter((t) => present.has(t));
}

/** One message read from a Warden topic: decoded, or the reason it could not be. */
export type { ReadMessage, ReadOptions };

/**
 * Reads the topics with a throw-away consumer group. Without follow, resolves once every partition has been read
 * up to its end offset as of the call.
 */
export const read = readTopics;

/** The topics of the agent loop a run follows: every event of a task (the DLQ aside). */
const LOOP_TOPICS = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'] as const;

/**
 * Creates the agent loop's topics if needed and follows them from the beginning until `signal` aborts (the demo,
 * agent-step with the workers as processes). Returns once the reader has joined, with the reading itself.
 */
export async function followLoop(
  deps: RuntimeDeps,
  signal: AbortSignal,
  onMessage: ReadOptions['onMessage'],
): Promise<{ readonly reading: Promise<void> }> {
  const topics = LOOP_TOPICS.map((k) => deps.topics.of(k));
  const admin = deps.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
  let ready: () => void = () => undefined;
  const joined = new Promise<void>((res) => (ready = res));
  const reading = readTopics(deps, topics, { follow: true, signal, onReady: () => ready(), onMessage });
  await Promise.race([joined, reading]);
  return { reading };
}
