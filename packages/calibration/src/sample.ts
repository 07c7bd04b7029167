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

/** The compacted topic published calibrations travel on: `<prefix>.calibrations.v1` (one partition). */
export function calibrationTopic(prefix: string): string {
  return `${prefix}.calibrations.v1`;
}

/**
 * The key of the guard's calibration on the calibrations topic: the latest record under it is the calibration in
 * force; a tombstone (null value) retires it, so the policy file's map and thresholds apply again.
 */
export const GUARD_CALIBRATION_KEY = 'guard';

/** Settings of the calibrations topic: compacted, kept forever (the latest record per key survives compaction). */
export const calibrationTopicConfig: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'retention.ms': '-1',
  'retention.bytes': '-1',
};
