import { MONGO_DUPLICATE_KEY_CODE } from '@warden/contracts';
import { MongoBulkWriteError, type Collection } from 'mongodb';

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
      if (we.code !== MONGO_DUPLICATE_KEY_CODE) throw error;
      const doc = docs[we.index];
      if (doc !== undefined) existing.add(doc._id);
    }
  }
  return existing;
}
