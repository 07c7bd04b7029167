import fc from 'fast-check';
import { MAX_REQUEST_BYTES, requestsOf, type OutgoingMessage } from '@warden/runtime';
import { describe, expect, it } from 'vitest';

const message = (key: string, size: number): OutgoingMessage => ({
  topic: 'warden.outcomes.v1',
  key,
  value: Buffer.alloc(size),
  headers: { 'warden-event-type': 'TaskCompleted', 'warden-task-id': key },
});

/** What the broker counts of a record batch, at least: each record's value, key and headers. */
const payload = (ms: readonly OutgoingMessage[]): number =>
  ms.reduce(
    (n, m) =>
      n +
      (m.value?.length ?? 0) +
      Buffer.byteLength(m.key) +
      Object.entries(m.headers).reduce((h, [k, v]) => h + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
    0,
  );

describe('requestsOf (how a chunk of outputs is split into produce requests)', () => {
  it('keeps every message, in order, in runs under the bound; only a message larger than the bound goes alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 400_000 })), {
          maxLength: 60,
        }),
        (specs) => {
          const messages = specs.map(([k, size]) => message(k, size));
          const requests = requestsOf(messages);
          expect(requests.flat()).toEqual(messages);
          for (const r of requests) {
            expect(r.length).toBeGreaterThan(0);
            if (r.length > 1) expect(payload(r)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends a chunk under the bound as one request, and 2 MB of outputs as three', () => {
    expect(requestsOf(Array.from({ length: 500 }, (_, i) => message(`k${i}`, 868)))).toHaveLength(1);
    expect(requestsOf(Array.from({ length: 67 }, (_, i) => message(`k${i}`, 30_000)))).toHaveLength(3);
    expect(requestsOf([])).toEqual([]);
  });
});
