import { Binary, MongoBulkWriteError, type Collection, type Db } from 'mongodb';

/** One message to produce: where, keyed how, the bytes and headers. */
export interface OutgoingMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

interface StoredMessage {
  topic: string;
  key: string;
  value: Binary;
  headers: Record<string, string>;
}

interface ClaimRecord {
  _id: string;
  expiresAt: Date;
}

interface OutboxRecord {
  _id: string;
  outputs: StoredMessage[];
  createdAt: Date;
  expiresAt: Date;
}

const DUPLICATE_KEY = 11000;

function toStored(m: OutgoingMessage): StoredMessage {
  return { topic: m.topic, key: m.key, value: new Binary(m.value), headers: { ...m.headers } };
}

function fromStored(m: StoredMessage): OutgoingMessage {
  return { topic: m.topic, key: m.key, value: Buffer.from(m.value.buffer), headers: m.headers };
}

/**
 * Inserts documents keyed by a unique `_id`, ignoring those already there, and returns the ids that already
 * existed. On a MongoDB-wire server without transactions this is the one atomic "create if absent": inserts with a
 * unique key are exact under concurrency, where conditional updates may not be (ADR 0007).
 */
export async function insertNewDocuments<T extends { _id: string }>(
  collection: Collection<T>,
  docs: readonly T[],
): Promise<Set<string>> {
  const existing = new Set<string>();
  if (docs.length === 0) return existing;
  try {
    await collection.insertMany(docs as never, { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const raw: unknown = error.writeErrors;
    const writeErrors = (Array.isArray(raw) ? raw : [raw]) as Array<{ code: number; index: number }>;
    for (const we of writeErrors) {
      if (we.code !== DUPLICATE_KEY) throw error;
      const doc = docs[we.index];
      if (doc !== undefined) existing.add(doc._id);
    }
  }
  return existing;
}

/**
 * The processed-events store and outbox, in MongoDB, built on inserts only (fast on every MongoDB-wire server; the
 * unique `_id` does the deduplication, so the hot path has no lookup scans):
 *
 * 1. saveOutputs() after handling, before producing: the exact output bytes under the consumed event's key. A key
 *    saved before means the event was handled before (a redelivery after a crash, or a racing replica): the stored
 *    outputs win, and our own are dropped, so one event never yields two different outcomes.
 * 2. markPublished() after the produce succeeded; publishedOf() tells a redelivery whether to send at all.
 *
 * A redelivered event is therefore handled again (handlers are idempotent, invariant 4) but never changes what was
 * published. Records expire by `expiresAt`, deleted by sweep(), since the MongoDB-wire server has no TTL indexes.
 */
export class ProcessedStore {
  private readonly outbox: Collection<OutboxRecord>;
  private readonly published: Collection<ClaimRecord>;

  constructor(
    db: Db,
    private readonly ttlMs: number,
    collectionPrefix = 'warden_processed',
  ) {
    this.outbox = db.collection<OutboxRecord>(`${collectionPrefix}_outbox`);
    this.published = db.collection<ClaimRecord>(`${collectionPrefix}_published`);
  }

  /** Creates the indexes sweep() uses. */
  async init(): Promise<void> {
    await this.outbox.createIndex({ expiresAt: 1 });
    await this.published.createIndex({ expiresAt: 1 });
  }

  /** The stored outputs of keys that have them. */
  async outputsOf(keys: readonly string[]): Promise<Map<string, readonly OutgoingMessage[]>> {
    const out = new Map<string, readonly OutgoingMessage[]>();
    if (keys.length === 0) return out;
    for (const r of await this.outbox.find({ _id: { $in: [...keys] } }).toArray())
      out.set(r._id, r.outputs.map(fromStored));
    return out;
  }

  /**
   * Saves each key's outputs (inserts; the unique `_id` deduplicates). For a key saved before (a redelivery, or
   * another replica racing us), the stored outputs win, so one event never yields two different outcomes; those
   * keys are listed in racedKeys so the caller can check whether they were already produced.
   */
  async saveOutputs(
    entries: ReadonlyArray<{ key: string; outputs: readonly OutgoingMessage[] }>,
    now: Date,
  ): Promise<{ outputs: Map<string, readonly OutgoingMessage[]>; racedKeys: string[] }> {
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    const raced = await insertNewDocuments(
      this.outbox,
      entries.map((e) => ({ _id: e.key, outputs: e.outputs.map(toStored), createdAt: now, expiresAt })),
    );
    const theirs = await this.outputsOf([...raced]);
    return {
      outputs: new Map(entries.map((e) => [e.key, raced.has(e.key) ? (theirs.get(e.key) ?? []) : e.outputs])),
      racedKeys: [...raced],
    };
  }

  /** Records that the outputs of these keys were produced (an insert each). */
  async markPublished(keys: readonly string[], now: Date): Promise<void> {
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await insertNewDocuments(
      this.published,
      [...new Set(keys)].map((_id) => ({ _id, expiresAt })),
    );
  }

  /** Which of these keys had their outputs produced. */
  async publishedOf(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const found = await this.published.find({ _id: { $in: [...keys] } }, { projection: { _id: 1 } }).toArray();
    return new Set(found.map((r) => r._id));
  }

  /** Deletes records past their expiry; returns how many. */
  async sweep(now: Date): Promise<number> {
    const b = await this.outbox.deleteMany({ expiresAt: { $lt: now } });
    const c = await this.published.deleteMany({ expiresAt: { $lt: now } });
    return b.deletedCount + c.deletedCount;
  }
}
