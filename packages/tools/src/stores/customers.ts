import { holdsErased, isSealed, openSealed, sealValue, type JsonValue, type SubjectKeyStore } from '@warden/contracts';
import type { Collection, Db, Document, UpdateFilter } from 'mongodb';
import { ToolCallError, ToolRefusedError } from '../errors.js';
import { subjectKeyId } from '../personal-data.js';

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

/**
 * Whether the copy customers.update or customers.delete kept for undo under an effect holds personal data whose
 * subject was erased (ADR 0026): read straight from `<collection>_versions` / `<collection>_deleted` (an admin's
 * rollback planning reads them once per effect, never on a hot path). False for any other tool.
 */
export async function keptCopyErased(
  db: Db,
  keys: SubjectKeyStore,
  tool: string,
  args: Readonly<Record<string, unknown>>,
  effectKey: string,
): Promise<boolean> {
  const collection = args.collection;
  if (typeof collection !== 'string') return false;
  const personal = (doc: Record<string, unknown>): JsonValue[] =>
    CUSTOMER_PERSONAL_FIELDS.flatMap((f) => (isSealed(doc[f]) ? [doc[f]] : []));
  if (tool === 'customers.update' && typeof args.id === 'string') {
    const version = await db
      .collection<VersionDoc>(`${collection}_versions`)
      .findOne({ _id: `${effectKey}|${args.id}` });
    return version !== null && (await holdsErased(keys, personal(version.previous)));
  }
  if (tool === 'customers.delete') {
    const archived = await db.collection<TombstoneDoc>(`${collection}_deleted`).find({ effectKey }).toArray();
    for (const t of archived) if (await holdsErased(keys, personal(t.record))) return true;
  }
  return false;
}

/** A customer record's personal fields (ADR 0026): customers.query declares them, and copies kept for undo seal them. */
export const CUSTOMER_PERSONAL_FIELDS: readonly string[] = ['name', 'email', 'phone'];

/**
 * How copies kept for undo (`<collection>_versions`, `<collection>_deleted`) hold a customer's personal fields: sealed
 * under the customer's key (or the tenant's), as results are (ADR 0026), so that `warden erase` shreds them too.
 */
export interface KeptSealing {
  readonly keys: SubjectKeyStore;
  readonly keyScope: 'subject' | 'tenant';
}

/** Customer collections the tools may touch; anything else (the ledger, the outbox) is refused. */
export class CustomerCollections implements CustomersReader {
  constructor(
    private readonly db: Db,
    private readonly allowed: ReadonlySet<string>,
    private readonly sealing?: KeptSealing,
  ) {}

  /**
   * The fields of a customer record, with its personal ones sealed for keeping (unchanged without sealing). A call
   * with sealing on but no tenant keeps nothing in clear: it fails (fail closed).
   */
  async sealKept<T extends Record<string, unknown>>(fields: T, customerId: string, tenantId?: string): Promise<T> {
    const sealing = this.sealing;
    if (sealing === undefined) return fields;
    if (tenantId === undefined) {
      throw new ToolCallError('no tenant to seal the kept personal data under', { retryable: false });
    }
    const subject = subjectKeyId(tenantId, customerId, sealing.keyScope);
    const out: Record<string, unknown> = { ...fields };
    for (const field of CUSTOMER_PERSONAL_FIELDS) {
      const v = out[field];
      if (v !== undefined && v !== null && !isSealed(v))
        out[field] = await sealValue(sealing.keys, subject, v as JsonValue);
    }
    return out as T;
  }

  /**
   * Kept fields opened to be put back: ToolRefusedError when one's subject was erased (what it held is gone: nothing
   * is restored from `[erased]`), or when they are sealed and this store has no keys.
   */
  async openKept<T extends Record<string, unknown>>(fields: T, what: string): Promise<T> {
    const sealed = CUSTOMER_PERSONAL_FIELDS.filter((f) => isSealed(fields[f]));
    if (sealed.length === 0) return fields;
    const keys = this.sealing?.keys;
    if (keys === undefined) throw new ToolRefusedError(`${what} holds sealed personal data and no key store is set`);
    const out: Record<string, unknown> = { ...fields };
    for (const field of sealed) {
      const value = fields[field] as JsonValue;
      if (await holdsErased(keys, value)) {
        throw new ToolRefusedError(
          `${what} holds personal data whose subject was erased (warden erase): it can no longer be restored`,
        );
      }
      out[field] = await openSealed(keys, value);
    }
    return out as T;
  }

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
