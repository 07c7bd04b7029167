import type { JsonValue } from '@warden/contracts';
import type { Collection, Db, Document, UpdateFilter } from 'mongodb';
import { ToolRefusedError } from '../errors.js';

/** The field of a customer record listing the effect keys applied to it (for verify and idempotent re-runs). */
export const EFFECTS_FIELD = '_effects';

/** A customer record as stored: `_id` is the customer id. */
export interface CustomerDoc {
  _id: string;
  _effects?: string[];
}

/** A customer collection as a dry run may use it: reads only. */
export type ReadonlyCustomers = Pick<Collection<CustomerDoc>, 'countDocuments' | 'find'>;

/** What a dry run may read of the customer store. */
export interface CustomersReader {
  /** The customer collection `name`, read-only; ToolRefusedError when it is not a customer collection. */
  read(name: string): ReadonlyCustomers;
  /** The archive of deleted records of a customer collection, read-only (customers.restore's dry run counts in it). */
  readArchive?(name: string): Pick<Collection<TombstoneDoc>, 'countDocuments'>;
}

/** Customer collections the tools may touch; anything else (the ledger, the outbox) is refused. */
export class CustomerCollections implements CustomersReader {
  constructor(
    private readonly db: Db,
    private readonly allowed: ReadonlySet<string>,
  ) {}

  /** The collection, or ToolRefusedError when it is not a customer collection. */
  get(name: string): Collection<CustomerDoc> {
    if (!this.allowed.has(name)) {
      throw new ToolRefusedError(`collection ${JSON.stringify(name)} is not a customer collection`, {
        details: { collection: name, allowed: [...this.allowed] },
      });
    }
    return this.db.collection<CustomerDoc>(name);
  }

  /** The collection, read-only (what a dry run gets); ToolRefusedError when it is not a customer collection. */
  read(name: string): ReadonlyCustomers {
    return this.get(name);
  }

  /** The archive of deleted records of a collection. */
  tombstones(name: string): Collection<TombstoneDoc> {
    this.get(name);
    return this.db.collection<TombstoneDoc>(`${name}_deleted`);
  }

  /** The archive of deleted records, read-only (what a dry run gets). */
  readArchive(name: string): Pick<Collection<TombstoneDoc>, 'countDocuments'> {
    return this.tombstones(name);
  }

  /** The values customers.update replaced, one document per effect and record (what customers.revert restores). */
  versions(name: string): Collection<VersionDoc> {
    this.get(name);
    return this.db.collection<VersionDoc>(`${name}_versions`);
  }
}

/** The values of a record's fields before an update, kept under the update's effect key. */
export interface VersionDoc extends Document {
  /** `effectKey|customerId`. */
  _id: string;
  effectKey: string;
  customerId: string;
  /** The fields the update set that had a value before, with that value. */
  previous: Record<string, JsonValue>;
  /** The fields the update set that had no value before. */
  absent: string[];
  recordedAt: Date;
}

/** A deleted record kept with the effect that deleted it. */
export interface TombstoneDoc extends Document {
  _id: string;
  effectKey: string;
  customerId: string;
  record: Document;
  deletedAt: Date;
}

/** A stored record as the model sees it: `id` for `_id`, no internal fields, plain JSON. */
export function publicRecord(doc: Document): Record<string, JsonValue> {
  const { _id, [EFFECTS_FIELD]: _effects, ...rest } = doc;
  return JSON.parse(JSON.stringify({ id: String(_id), ...rest })) as Record<string, JsonValue>;
}

/** An equality filter with `id` meaning `_id`. */
export function storeFilter(filter: Readonly<Record<string, string | number | boolean | null>>): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(filter)) out[k === 'id' ? '_id' : k] = v;
  return out;
}

/**
 * Updates one record once under an effect key: the update and the key go on the record in one write whose filter
 * excludes records that carry the key already, so running it twice changes nothing more. Returns the counts, those of
 * the earlier run when it had happened.
 */
export async function updateOnce(
  collection: Collection<CustomerDoc>,
  id: string,
  update: Omit<UpdateFilter<CustomerDoc>, '$push'>,
  effectKey: string,
  signal: AbortSignal,
): Promise<{ matched: number; modified: number }> {
  const result = await collection.updateOne(
    { _id: id, [EFFECTS_FIELD]: { $ne: effectKey } },
    { ...update, $push: { [EFFECTS_FIELD]: effectKey } },
  );
  if (result.matchedCount === 0) {
    const done = await collection.countDocuments({ _id: id, [EFFECTS_FIELD]: effectKey }, { signal });
    return { matched: done, modified: done };
  }
  return { matched: result.matchedCount, modified: result.modifiedCount };
}
