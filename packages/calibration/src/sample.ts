import { createHash } from 'node:crypto';

/**
 * Whether an auto-approved action is in the review sample: sha256(salt, key) read as a number in [0, 1) is below
 * the rate. Deterministic and reproducible (the same key, salt and rate always give the same answer, on every
 * replica and in a replay), and uniform over keys. The key is `<taskId>:<actionId>`.
 */
export function inReviewSample(key: string, rate: number, salt: string): boolean {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  const digest = createHash('sha256').update(salt).update('\u0000').update(key).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < rate;
}
