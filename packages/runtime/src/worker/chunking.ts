import type { KafkaMessage } from 'kafkajs';

/**
 * The messages of a fetch that are still to handle. After fencing, an earlier owner's last transaction is final,
 * and `committedOffset` (the next offset it left to read) says where it ended: what lies before was handled.
 */
export function unseenMessages<M extends Pick<KafkaMessage, 'offset'>>(
  messages: readonly M[],
  committedOffset: bigint | undefined,
): readonly M[] {
  return committedOffset === undefined ? messages : messages.filter((m) => BigInt(m.offset) >= committedOffset);
}

/** When a chunk (the events of one transaction) closes: at batchSize events, or once it is commitIntervalMs old. */
export interface ChunkLimits {
  /** The most events in one transaction. */
  readonly batchSize: number;
  /** A chunk closes after the event being handled once this long has passed since it opened. */
  readonly commitIntervalMs: number;
}

/** A chunk as it stands after an event was handled. */
export interface OpenChunk {
  /** Events in the chunk so far. */
  readonly size: number;
  /** Time since the chunk opened. */
  readonly ageMs: number;
  /** Messages of the fetch not yet in any chunk. */
  readonly remaining: number;
  /** True when the worker is draining or the partition was revoked: what was handled commits, nothing more starts. */
  readonly stopping: boolean;
}

/**
 * Whether a chunk closes (and commits) after the event just handled: the fetch is done, the chunk is full or old,
 * or the worker stops. So a slow handler's outputs are not held back behind its whole fetch (as Kafka Streams
 * commits every commit.interval.ms), and a fast one commits hundreds of events at a time.
 */
export function chunkCloses(chunk: OpenChunk, limits: ChunkLimits): boolean {
  return (
    chunk.stopping || chunk.remaining === 0 || chunk.size >= limits.batchSize || chunk.ageMs >= limits.commitIntervalMs
  );
}

/**
 * The last offset a chunk covers, given `end`, the index after its last message. The last chunk of a fetch also
 * covers the control records (transaction markers) after its last message, up to the batch's last offset.
 */
export function lastOffsetOf(
  messages: readonly Pick<KafkaMessage, 'offset'>[],
  end: number,
  batchLastOffset: string,
): string {
  return end >= messages.length ? batchLastOffset : messages[end - 1]!.offset;
}

/** The offset to commit after a chunk whose last offset is `lastOffset`: the next one to read. */
export function nextOffsetAfter(lastOffset: string): string {
  return (BigInt(lastOffset) + 1n).toString();
}

/**
 * A bounded map of recently committed keys (event ids) to the hash of the event handled under each: the same event
 * published twice (same id, same hash) is recognised within this window, and an id reused with other content is
 * told apart from it. When full, the oldest key is forgotten first.
 */
export class DedupeWindow {
  private readonly hashes = new Map<string, string>();

  /** @param maxKeys how many keys the window holds (DEDUPE_WINDOW_EVENTS) */
  constructor(private readonly maxKeys: number) {}

  /** The hash handled under a key, if the window holds it. */
  get(key: string): string | undefined {
    return this.hashes.get(key);
  }

  has(key: string): boolean {
    return this.hashes.has(key);
  }

  add(key: string, hash: string): void {
    this.hashes.set(key, hash);
    if (this.hashes.size > this.maxKeys) {
      const oldest = this.hashes.keys().next();
      if (oldest.done !== true) this.hashes.delete(oldest.value);
    }
  }

  /** Keys held now. */
  get size(): number {
    return this.hashes.size;
  }
}

/** What a consumed event is against the events handled before it: new, the same event again, or an id reused. */
export type Recurrence =
  { readonly kind: 'new' } | { readonly kind: 'duplicate' } | { readonly kind: 'conflict'; readonly seenHash: string };

/**
 * Classifies an event by the hash last handled under its key (pure): none is new; the same hash is a duplicate to
 * skip; another hash is a conflict (an id reused with other content), which is never skipped silently.
 */
export function recurrenceOf(seenHash: string | undefined, hash: string): Recurrence {
  if (seenHash === undefined) return { kind: 'new' };
  return seenHash === hash ? { kind: 'duplicate' } : { kind: 'conflict', seenHash };
}
