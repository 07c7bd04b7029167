import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { StackEndpoints } from '../../infra/stack/endpoints.js';

/** The endpoints of this test run's servers (from the global setup). */
export function stack(): StackEndpoints {
  return inject('stack');
}

/** A short unique name for topics, groups, databases and subjects: `<prefix>-<random>`. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}
