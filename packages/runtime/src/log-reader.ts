/**
 * Reading Warden's topics to their end (or following them): a throw-away consumer group, read_committed, every
 * message decoded through the same codec the workers use (registry framing, zod, claim-checks). For the CLI's
 * `show`, `verify` and `tail`, and for the admin operations of the services that read a task's log (a rollback's
 * plan, ADR 0026).
 */
import { randomBytes } from 'node:crypto';
import type { DecodedEvent } from '@warden/contracts';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { RuntimeDeps } from './deps.js';

/** What reading needs: the Kafka client and the codec. */
export type LogReaderDeps = Pick<RuntimeDeps, 'kafka' | 'codec'>;

/** One message read from a Warden topic: decoded, or the reason it could not be. */
export interface ReadMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly message: KafkaMessage;
  readonly decoded?: DecodedEvent;
  readonly error?: string;
}

async function decode(
  deps: LogReaderDeps,
  topic: string,
  partition: number,
  message: KafkaMessage,
): Promise<ReadMessage> {
  const base = { topic, partition, offset: message.offset, message };
  try {
    return { ...base, decoded: await deps.codec.decode(message.value) };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  }
}

/** How long a topic just created may take to be served by its partition leaders. */
const NEW_TOPIC_WAIT_MS = 30_000;

/**
 * A topic's offsets. A topic created a moment ago (by this process or another replica) may not have its partition
 * leaders yet, and kafkajs' admin does not retry the broker's retriable answer (NOT_LEADER_FOR_PARTITION,
 * LEADER_NOT_AVAILABLE): asked again with capped backoff for up to `timeoutMs` (30 s). Start-up reads of end
 * offsets go through here: a worker that starts on a fresh deployment must not fail on a topic created a moment ago.
 */
export async function offsetsOf(
  admin: Pick<Admin, 'fetchTopicOffsets'>,
  topic: string,
  timeoutMs = NEW_TOPIC_WAIT_MS,
): Promise<Array<{ partition: number; high: string; low: string }>> {
  return askedAgainWhileRetriable(() => admin.fetchTopicOffsets(topic), timeoutMs);
}

/**
 * A consumer group's committed offsets. kafkajs' admin asks the group's coordinator once: a coordinator still loading
 * the group (a broker that just started, `__consumer_offsets` just created) answers NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS, retriable, and the admin throws it. Asked again, each time finding the coordinator
 * afresh, with capped backoff for up to `timeoutMs` (30 s): a worker that starts beside a broker restart must not fail.
 */
export async function groupOffsetsOf(
  admin: Pick<Admin, 'fetchOffsets'>,
  groupId: string,
  topics: readonly string[],
  timeoutMs = NEW_TOPIC_WAIT_MS,
): Promise<Awaited<ReturnType<Admin['fetchOffsets']>>> {
  return askedAgainWhileRetriable(() => admin.fetchOffsets({ groupId, topics: [...topics] }), timeoutMs);
}

/** Runs `ask` again, with capped exponential backoff, while it throws a retriable kafkajs error, for up to `timeoutMs`. */
async function askedAgainWhileRetriable<T>(ask: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let waitMs = 50; ; waitMs = Math.min(1_000, waitMs * 2)) {
    try {
      return await ask();
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true || Date.now() + waitMs > deadline) throw error;
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** What readLatestByKey found: each key's latest value (as text, with its offset), and how many records it read. */
export interface LatestByKey {
  readonly latest: Map<string, { readonly text: string; readonly offset: string }>;
  readonly records: number;
}

/**
 * Reads one partition of a compacted topic (a changelog, a snapshot topic) from its beginning to the end it has now,
 * read_committed, with a throw-away group `<groupPrefix><random>`, and keeps each key's latest value, a tombstone
 * removing it. Values are kept as text and never parsed here: a compacted topic holds many records per key until
 * Kafka's cleaner compacts it, and only the last one of each key counts (the caller parses those).
 */
export async function readLatestByKey(
  kafka: Kafka,
  topic: string,
  partition: number,
  groupPrefix: string,
): Promise<LatestByKey> {
  const latest = new Map<string, { text: string; offset: string }>();
  const admin = kafka.admin();
  await admin.connect();
  let end: bigint;
  try {
    const p = (await offsetsOf(admin, topic)).find((o) => o.partition === partition);
    if (p === undefined) throw new Error(`${topic} has no partition ${partition}`);
    end = BigInt(p.high);
    if (end <= BigInt(p.low)) return { latest, records: 0 };
  } finally {
    await admin.disconnect();
  }
  let records = 0;
  const consumer = kafka.consumer({
    groupId: `${groupPrefix}${randomBytes(6).toString('hex')}`,
    readUncommitted: false,
  });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  // A partition whose last records are transaction markers (or aborted) ends in an empty batch: its last offset says.
  const advance = (lastOffset: string): void => {
    if (BigInt(lastOffset) + 1n >= end) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.partition === partition && payload.batchSize === 0) advance(payload.lastOffset);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: (payload) => {
        const { batch } = payload;
        if (batch.partition !== partition) {
          payload.pause(); // another partition: not asked for
          return Promise.resolve();
        }
        for (const message of batch.messages) {
          const key = message.key?.toString() ?? '';
          records++;
          if (message.value === null) latest.delete(key);
          else latest.set(key, { text: message.value.toString('utf8'), offset: message.offset });
        }
        advance(batch.lastOffset());
        return Promise.resolve();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return { latest, records };
}

/** Options of `read`. */
export interface ReadOptions {
  /** Keep reading after the end of the log (until `signal` aborts). */
  readonly follow: boolean;
  /** Start at the end of the log instead of the beginning (only with follow). */
  readonly fromEnd?: boolean;
  readonly signal?: AbortSignal;
  readonly onMessage: (m: ReadMessage) => void | Promise<void>;
  /** Called once the consumer has joined and is reading (follow mode: live from here on). */
  readonly onReady?: () => void;
  /** The throw-away group's name starts with this (default `warden-cli-`, a client's); a worker passes its own. */
  readonly groupPrefix?: string;
}

/**
 * Reads the topics with a throw-away consumer group. Without follow, resolves once every partition has been read
 * up to its end offset as of the call.
 */
export async function readTopics(deps: LogReaderDeps, topics: readonly string[], options: ReadOptions): Promise<void> {
  if (topics.length === 0) return;
  const admin = deps.kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>(); // "topic/partition" -> the end offset still to reach
  try {
    for (const topic of topics) {
      for (const p of await offsetsOf(admin, topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (!options.follow && remaining.size === 0) return;
  const consumer = deps.kafka.consumer({
    groupId: `${options.groupPrefix ?? 'warden-cli-'}${randomBytes(6).toString('hex')}`,
    readUncommitted: false,
  });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  const onAbort = (): void => finish();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Positions move past transaction markers too: a batch's lastOffset covers them, and a fetch of markers alone
  // only shows as an empty END_BATCH_PROCESS (the auditor's rebuild reads to the end the same way).
  const advance = (topic: string, partition: number, lastOffset: string): void => {
    const key = `${topic}/${partition}`;
    const end = remaining.get(key);
    if (end !== undefined && BigInt(lastOffset) + 1n >= end) {
      remaining.delete(key);
      if (!options.follow && remaining.size === 0) finish();
    }
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) advance(payload.topic, payload.partition, payload.lastOffset);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => options.onReady?.());
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: !(options.fromEnd ?? false) });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          await options.onMessage(await decode(deps, batch.topic, batch.partition, message));
        }
        advance(batch.topic, batch.partition, batch.lastOffset());
      },
    });
    if (options.signal?.aborted === true) finish();
    await done;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
}
