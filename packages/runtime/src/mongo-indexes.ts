import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Document, IndexDescription } from 'mongodb';

/** Tries of an index creation that fails (another replica was creating the same indexes). */
const INDEX_ATTEMPTS = 5;
/** The wait after a failed try: this, plus up to as much again at random (tries of replicas drift apart). */
const INDEX_RETRY_DELAY_MS = 150;

/**
 * Creates the indexes a collection's queries are served by (docs/mongodb-queries.md). FerretDB 1.24 panics and drops
 * the connection when two clients create indexes on one collection at the same moment (replicas starting together):
 * after a failure this waits a jittered moment, and is done once the indexes are there (the other client made them);
 * otherwise it tries again, up to INDEX_ATTEMPTS times, then throws the last error. Creating an index that exists is a
 * no-op. The caller decides what a failure means (queries still answer without an index, only slower).
 */
export async function createIndexesOnce<T extends Document>(
  collection: Collection<T>,
  indexes: readonly IndexDescription[],
  random: () => number = Math.random,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await collection.createIndexes([...indexes]);
      return;
    } catch (error) {
      if (attempt >= INDEX_ATTEMPTS) throw error;
      await sleep(INDEX_RETRY_DELAY_MS * (1 + random()));
      const names = new Set((await collection.indexes().catch(() => [])).map((i) => i.name));
      if (indexes.every((i) => i.name !== undefined && names.has(i.name))) return;
    }
  }
}
