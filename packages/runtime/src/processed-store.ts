import { Binary, type Collection, type Db } from 'mongodb';

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

interface ProcessedRecord {
  _id: string;
  status: 'pending' | 'published';
  outputs: StoredMessage[];
  createdAt: Date;
  expiresAt: Date;
}

/** What the store knows of one consumed event. */
export type ProcessedState =
  | { readonly status: 'published' }
  | { readonly status: 'pending'; readonly outputs: readonly OutgoingMessage[] };

function toStored(m: OutgoingMessage): StoredMessage {
  return { topic: m.topic, key: m.key, value: new Binary(m.value), headers: { ...m.headers } };
}

function fromStored(m: StoredMessage): OutgoingMessage {
  return { topic: m.topic, key: m.key, value: Buffer.from(m.value.buffer), headers: m.headers };
}

/**
 * The processed-events store with its outbox, in MongoDB. Before a handler's outputs are produced they are saved
 * under the consumed event's key (pending); after the produce succeeds the record is marked published. A
 * redelivery of a published event is skipped; a redelivery of a pending one re-sends the very same bytes, so a
 * crash anywhere in between neither loses nor changes an output. Records expire by `expiresAt`, deleted by
 * sweep(), since the MongoDB-wire server has no TTL indexes.
 */
export class ProcessedStore {
  private readonly collection: Collection<ProcessedRecord>;

  constructor(
    db: Db,
    private readonly ttlMs: number,
    collectionName = 'warden_processed',
  ) {
    this.collection = db.collection<ProcessedRecord>(collectionName);
  }

  /** Creates the index sweep() uses. */
  async init(): Promise<void> {
    await this.collection.createIndex({ expiresAt: 1 });
  }

  /** The state of each known key. */
  async lookup(keys: readonly string[]): Promise<Map<string, ProcessedState>> {
    const out = new Map<string, ProcessedState>();
    if (keys.length === 0) return out;
    const found = await this.collection.find({ _id: { $in: [...keys] } }).toArray();
    for (const r of found) {
      out.set(r._id, r.status === 'published' ? { status: 'published' } : { status: 'pending', outputs: r.outputs.map(fromStored) });
    }
    return out;
  }

  /**
   * Saves pending outputs for keys not seen before. For a key another consumer saved first, returns that
   * consumer's outputs, which must be sent instead of ours so that one event never yields two different outcomes.
   */
  async savePending(
    entries: ReadonlyArray<{ key: string; outputs: readonly OutgoingMessage[] }>,
    now: Date,
  ): Promise<Map<string, readonly OutgoingMessage[]>> {
    const result = new Map<string, readonly OutgoingMessage[]>();
    if (entries.length === 0) return result;
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    const write = await this.collection.bulkWrite(
      entries.map((e) => ({
        updateOne: {
          filter: { _id: e.key },
          update: { $setOnInsert: { status: 'pending' as const, outputs: e.outputs.map(toStored), createdAt: now, expiresAt } },
          upsert: true,
        },
      })),
      { ordered: true },
    );
    const inserted = new Set(Object.values(write.upsertedIds).map(String));
    const raced = entries.filter((e) => !inserted.has(e.key)).map((e) => e.key);
    const theirs = await this.lookup(raced);
    for (const e of entries) {
      if (inserted.has(e.key)) {
        result.set(e.key, e.outputs);
        continue;
      }
      const state = theirs.get(e.key);
      result.set(e.key, state?.status === 'pending' ? state.outputs : []);
    }
    return result;
  }

  /** Marks keys published and drops their stored outputs. */
  async markPublished(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.collection.updateMany({ _id: { $in: [...keys] } }, { $set: { status: 'published', outputs: [] } });
  }

  /** Deletes records past their expiry; returns how many. */
  async sweep(now: Date): Promise<number> {
    const { deletedCount } = await this.collection.deleteMany({ expiresAt: { $lt: now } });
    return deletedCount;
  }
}
