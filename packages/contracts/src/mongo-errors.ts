import { MongoServerError } from 'mongodb';

/** MongoDB's error code for an insert (or upsert) whose unique key is already taken (E11000). */
export const MONGO_DUPLICATE_KEY_CODE = 11000;

/**
 * True for MongoDB's duplicate-key error: a unique key was taken already. Where an insert under a unique key is the
 * atomic "create if absent" (ledgers, effect records, reservations: ADR 0007), this says "already done", not a
 * failure. A bulk write's per-document errors carry the same code (compare with MONGO_DUPLICATE_KEY_CODE).
 */
export function isDuplicateKeyError(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === MONGO_DUPLICATE_KEY_CODE;
}
