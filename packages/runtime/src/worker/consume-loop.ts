import type { EachBatchPayload } from 'kafkajs';
import type { OutgoingMessage } from '../publisher.js';
import type { RuntimeMetrics } from '../telemetry.js';
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

/** What the consume loop needs. */
export interface ConsumeLoopOptions {
  readonly worker: string;
  readonly limits: ChunkLimits;
  /** How often a long chunk asks kafkajs whether a heartbeat is due (HEARTBEAT_CHECK_INTERVAL_MS). */
  readonly heartbeatCheckIntervalMs: number;
  readonly transactions: Pick<PartitionTransactions, 'acquire' | 'commit'>;
  readonly handling: Pick<Handling, 'decode' | 'handle' | 'conflict'>;
  readonly metrics: Pick<RuntimeMetrics, 'setLag' | 'duplicates' | 'messagesIn' | 'messagesOut'>;
  /** Event keys (and hashes) whose transaction committed: the window that recognises an event published twice. */
  readonly recent: DedupeWindow;
  /** Whether the worker still runs; once it drains, the chunk in hand commits and nothing more starts. */
  readonly running: () => boolean;
  /** The clock, in ms (default performance.now). */
  readonly now?: () => number;
}

/** The part of kafkajs's eachBatch payload the loop uses. */
export type BatchPayload = Pick<EachBatchPayload, 'batch' | 'resolveOffset' | 'heartbeat' | 'isRunning' | 'isStale'>;

/**
 * kafkajs's eachBatch for a worker: the fetch of one partition is cut into chunks (see chunkCloses); each chunk's
 * events are decoded, deduplicated and handled in order, and its outputs and offsets committed in one transaction.
 * Chunks are pipelined: the next chunk is handled while the previous one's transaction commits. Transactions of one
 * partition still commit one at a time and in order; if one fails, the ones after it are never committed.
 */
export function createConsumeLoop(options: ConsumeLoopOptions): (payload: BatchPayload) => Promise<void> {
  const { transactions: txs, handling, metrics: m, recent, limits } = options;
  const now = options.now ?? (() => performance.now());
  const workerAttrs = { worker: options.worker };

  return async function eachBatch(payload: BatchPayload): Promise<void> {
    const { batch } = payload;
    const source = { topic: batch.topic, partition: batch.partition };
    m.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
    const { producer, committedOffset } = await txs.acquire(batch.topic, batch.partition);
    const messages = unseenMessages(batch.messages, committedOffset);
    if (messages.length < batch.messages.length) {
      m.duplicates.add(batch.messages.length - messages.length, workerAttrs);
      if (messages.length === 0) payload.resolveOffset(batch.lastOffset());
    }
    let lastBeat = now();
    let committing: Promise<void> = Promise.resolve();
    let committingKeys = new Map<string, string>();
    try {
      let next = 0;
      while (next < messages.length) {
        if (!payload.isRunning() || payload.isStale() || !options.running()) break;
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
            outputs.push(...(await handling.handle(source, item)));
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
        committing = txs.commit(producer, { ...source, nextOffset: nextOffsetAfter(lastOffset) }, outputs).then(() => {
          for (const [key, hash] of handledKeys) recent.add(key, hash);
          m.messagesOut.add(outputs.length, workerAttrs);
          payload.resolveOffset(lastOffset);
        });
        committing.catch(() => undefined); // observed below; never an unhandled rejection meanwhile
      }
    } finally {
      await committing;
    }
    await payload.heartbeat();
  };
}
