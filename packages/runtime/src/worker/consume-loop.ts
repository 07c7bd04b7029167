import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload } from 'kafkajs';
import { dependencyOf, type Dependency } from '../infrastructure.js';
import type { OutgoingMessage } from '../publisher.js';
import { startCommitSpan, type RuntimeMetrics } from '../telemetry.js';
import type { PartitionTransactions } from '../transactions.js';
import {
  chunkCloses,
  lastOffsetOf,
  nextOffsetAfter,
  recurrenceOf,
  unseenMessages,
  type ChunkLimits,
  type DedupeWindow,
} from './chunking.js';
import type { Handling } from './handling.js';
import type { StateStores } from './state-store.js';
import { retryDelayMs } from './retry.js';

/** What the consume loop needs. */
export interface ConsumeLoopOptions {
  readonly worker: string;
  readonly limits: ChunkLimits;
  /** How often a long chunk asks kafkajs whether a heartbeat is due (HEARTBEAT_CHECK_INTERVAL_MS). */
  readonly heartbeatCheckIntervalMs: number;
  readonly transactions: Pick<PartitionTransactions, 'acquire' | 'commit'>;
  readonly handling: Pick<Handling, 'decode' | 'handle' | 'conflict'>;
  readonly metrics: Pick<RuntimeMetrics, 'setLag' | 'duplicates' | 'messagesIn' | 'messagesOut' | 'commitDuration'>;
  /** Event keys (and hashes) whose transaction committed: the window that recognises an event published twice. */
  readonly recent: DedupeWindow;
  /** Whether the worker still runs; once it drains, the chunk in hand commits and nothing more starts. */
  readonly running: () => boolean;
  /** The clock, in ms (default performance.now). */
  readonly now?: () => number;
  /** Where outages met by the loop are reported, and whether a dependency is back (the worker's monitor). */
  readonly outages: OutageReports;
  /** The backoff while a dependency is down (WARDEN_OUTAGE_RETRY_BASE_MS, _MAX_MS): capped, exponential, jittered. */
  readonly outageRetry: { readonly retryBaseMs: number; readonly retryMaxMs: number };
  /** A number in [0, 1) for the backoff's jitter (tests fix it). */
  readonly random?: () => number;
  /**
   * A stateful worker's stores (ADR 0027): each chunk runs under its partition number's lock with a state layer,
   * and its writes go to the changelog in the chunk's transaction (applied to memory once it commits).
   */
  readonly state?: Pick<StateStores<unknown>, 'load'>;
}

/** What the consume loop tells the worker's dependency monitor, and asks it. */
export interface OutageReports {
  /** A dependency failed an operation (logged by the monitor when the state changes, not on every report). */
  failed(dependency: Dependency, error: unknown): void;
  /** A dependency served an operation again. */
  served(dependency: Dependency): void;
  /** Whether the monitor's last probe found the dependency up (a wait ends early when it is back). */
  isUp(dependency: Dependency): boolean;
}

/** kafkajs answers meaning this member's place in the group changed: kafkajs must rejoin, the loop must not wait. */
const MEMBERSHIP_CHANGED = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

/** Where the handling of a fetch stands: the next offset that no transaction of this call has committed yet. */
interface BatchProgress {
  nextOffset?: bigint;
}

/** The part of kafkajs's eachBatch payload the loop uses. */
export type BatchPayload = Pick<EachBatchPayload, 'batch' | 'resolveOffset' | 'heartbeat' | 'isRunning' | 'isStale'>;

/**
 * kafkajs's eachBatch for a worker: the fetch of one partition is cut into chunks (see chunkCloses); each chunk's
 * events are decoded, deduplicated and handled in order, and its outputs and offsets committed in one transaction.
 * Chunks are pipelined: the next chunk is handled while the previous one's transaction commits. Transactions of one
 * partition still commit one at a time and in order; if one fails, the ones after it are never committed.
 *
 * An outage (a dependency down: dependencyOf finds one in the error) never reaches the DLQ and never ends the batch:
 * nothing of the failed chunk was committed (its transaction, if open, was aborted), so the partition waits, with
 * capped exponential backoff and jitter, heartbeating so the member keeps its group session, and then handles the
 * fetch again from the first offset not committed. The same events are handled once more, as after an aborted
 * transaction; the dedupe window only holds what committed. Any other error, a changed membership, or a worker that
 * stops ends the batch as before (kafkajs re-delivers what was not committed).
 */
export function createConsumeLoop(options: ConsumeLoopOptions): (payload: BatchPayload) => Promise<void> {
  const handleFrom = createBatchHandler(options);
  const random = options.random ?? Math.random;

  /** Waits `ms` in slices, heartbeating; returns early when the dependency is back, throws `cause` if stopping. */
  async function waitOut(payload: BatchPayload, dependency: Dependency, ms: number, cause: unknown): Promise<void> {
    const until = Date.now() + ms;
    const stopping = (): boolean => !options.running() || !payload.isRunning() || payload.isStale();
    while (Date.now() < until) {
      await sleep(Math.min(options.heartbeatCheckIntervalMs, Math.max(0, until - Date.now())));
      if (stopping()) throw cause; // released uncommitted: the next owner, or the next fetch, handles it
      try {
        await payload.heartbeat();
      } catch (error) {
        const type = (error as { type?: unknown }).type;
        // The group moved on: kafkajs rejoins; a broker that does not answer is the outage itself: keep waiting.
        if (typeof type === 'string' && MEMBERSHIP_CHANGED.has(type)) throw error;
        if (dependencyOf(error) === undefined) throw error;
      }
      if (options.outages.isUp(dependency)) return;
    }
  }

  return async function eachBatch(payload: BatchPayload): Promise<void> {
    const progress: BatchProgress = {};
    const waitedFor = new Set<Dependency>();
    for (let failures = 0; ; failures++) {
      try {
        await handleFrom(payload, progress, failures === 0);
        for (const dependency of waitedFor) options.outages.served(dependency);
        return;
      } catch (error) {
        const dependency = dependencyOf(error);
        if (dependency === undefined || !options.running() || !payload.isRunning() || payload.isStale()) throw error;
        waitedFor.add(dependency);
        options.outages.failed(dependency, error);
        await waitOut(payload, dependency, retryDelayMs(failures + 1, options.outageRetry, random()), error);
      }
    }
  };
}

/** Handles a fetch from `progress.nextOffset` (or the group's committed offset after fencing); one pass. */
function createBatchHandler(
  options: ConsumeLoopOptions,
): (payload: BatchPayload, progress: BatchProgress, firstPass: boolean) => Promise<void> {
  const { transactions: txs, handling, metrics: m, recent, limits } = options;
  const now = options.now ?? (() => performance.now());
  const workerAttrs = { worker: options.worker };

  /** Awaits `work`, heartbeating every heartbeatCheckIntervalMs until it settles. */
  async function beatingWhile<T>(work: Promise<T>, payload: BatchPayload): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const settled = work.then(() => 'settled' as const);
    try {
      for (;;) {
        const tick = new Promise<'tick'>(
          (resolve) => (timer = setTimeout(resolve, options.heartbeatCheckIntervalMs, 'tick')),
        );
        if ((await Promise.race([settled, tick])) === 'settled') return await work;
        await payload.heartbeat();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  return async function handleFrom(payload, progress, firstPass): Promise<void> {
    const { batch } = payload;
    const source = { topic: batch.topic, partition: batch.partition };
    if (firstPass) m.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
    const { producer, committedOffset } = await txs.acquire(batch.topic, batch.partition);
    // After fencing, the committed offset is final; otherwise this call's own commits say where it stands.
    const from = committedOffset ?? progress.nextOffset;
    const messages = unseenMessages(batch.messages, from);
    if (messages.length < batch.messages.length) {
      if (firstPass) m.duplicates.add(batch.messages.length - messages.length, workerAttrs);
      if (messages.length === 0) payload.resolveOffset(batch.lastOffset());
    }
    let lastBeat = now();
    let committing: Promise<void> = Promise.resolve();
    let committingKeys = new Map<string, string>();
    try {
      let next = 0;
      while (next < messages.length) {
        if (!payload.isRunning() || payload.isStale() || !options.running()) break;
        // A stateful worker: the partition number's store (restored on first use), locked until the chunk commits.
        // A restore (or a wait for the lock) can outlast the group session: the member heartbeats meanwhile.
        const store =
          options.state === undefined ? undefined : await beatingWhile(options.state.load(batch.partition), payload);
        let release = store === undefined ? undefined : await beatingWhile(store.lock(), payload);
        try {
          const layer = store?.begin();
          const first = next;
          const opened = now();
          const outputs: OutgoingMessage[] = [];
          const handledKeys = new Map<string, string>();
          let closes = false;
          while (!closes) {
            const item = await handling.decode(source, messages[next]!);
            next++;
            // Duplicates (the same event published twice: the same id and the same hash): an in-memory window,
            // filled only once a transaction has committed (a chunk that failed is handled again in full). A crash
            // redelivery needs no window: the crashed transaction was aborted, so nothing of it was ever visible. An id
            // seen with another hash is a conflict: dead-lettered with an alert, never skipped as a duplicate.
            const hash = item.decoded?.hash ?? item.key;
            const seen = handledKeys.get(item.key) ?? committingKeys.get(item.key) ?? recent.get(item.key);
            const recurrence = recurrenceOf(seen, hash);
            if (recurrence.kind === 'duplicate') {
              m.duplicates.add(1, workerAttrs);
            } else if (recurrence.kind === 'conflict') {
              outputs.push(...(await handling.conflict(source, item, recurrence.seenHash)));
            } else {
              handledKeys.set(item.key, hash);
              outputs.push(...(await handling.handle(source, item, layer)));
            }
            const t = now();
            if (t - lastBeat >= options.heartbeatCheckIntervalMs) {
              lastBeat = t;
              await payload.heartbeat();
            }
            closes = chunkCloses(
              {
                size: next - first,
                ageMs: t - opened,
                remaining: messages.length - next,
                stopping: !options.running() || payload.isStale(),
              },
              limits,
            );
          }
          m.messagesIn.add(next - first, { worker: options.worker, topic: batch.topic });
          await committing;
          if (payload.isStale()) break; // the partition moved: the new owner handles the chunk
          const lastOffset = lastOffsetOf(messages, next, batch.lastOffset());
          committingKeys = handledKeys;
          const nextOffset = nextOffsetAfter(lastOffset);
          const records = store === undefined || layer === undefined ? [] : store.recordsOf(layer);
          const span = startCommitSpan(options.worker, source, outputs, records.length);
          const commitStarted = performance.now();
          committing = txs.commit(producer, { ...source, nextOffset }, [...outputs, ...records]).then(
            () => {
              span.end();
              m.commitDuration.record((performance.now() - commitStarted) / 1000, workerAttrs);
              if (layer !== undefined) store?.apply(layer);
              progress.nextOffset = BigInt(nextOffset);
              for (const [key, hash] of handledKeys) recent.add(key, hash);
              m.messagesOut.add(outputs.length, workerAttrs);
              payload.resolveOffset(lastOffset);
            },
            (error: unknown) => {
              span.end(error);
              throw error;
            },
          );
          committing.catch(() => undefined); // observed below; never an unhandled rejection meanwhile
          // The lock is the commit's now: released once it settles (the next chunk of the partition number waits).
          const held = release;
          release = undefined;
          if (held !== undefined) void committing.finally(held).catch(() => undefined);
        } finally {
          release?.(); // the chunk ended without a commit: nothing of its state layer was kept
        }
      }
    } finally {
      await committing;
    }
    await payload.heartbeat();
  };
}
