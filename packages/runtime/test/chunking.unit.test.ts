import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DedupeWindow,
  recurrenceOf,
  chunkCloses,
  lastOffsetOf,
  nextOffsetAfter,
  unseenMessages,
  type ChunkLimits,
} from '../src/worker/chunking.js';

const limits: ChunkLimits = { batchSize: 5, commitIntervalMs: 100 };
const open = { size: 1, ageMs: 0, remaining: 10, stopping: false };
const at = (...offsets: number[]) => offsets.map((o) => ({ offset: String(o) }));

describe('chunking a fetch into transactions', () => {
  it('closes a chunk at batchSize events, once it is commitIntervalMs old, at the end of the fetch, or when stopping', () => {
    expect(chunkCloses(open, limits)).toBe(false);
    expect(chunkCloses({ ...open, size: 4, ageMs: 99 }, limits)).toBe(false);
    expect(chunkCloses({ ...open, size: 5 }, limits)).toBe(true);
    expect(chunkCloses({ ...open, ageMs: 100 }, limits)).toBe(true);
    expect(chunkCloses({ ...open, remaining: 0 }, limits)).toBe(true);
    expect(chunkCloses({ ...open, stopping: true }, limits)).toBe(true);
  });

  it('never lets a chunk grow past batchSize or stay open past commitIntervalMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (batchSize, commitIntervalMs, durations) => {
          // simulate the loop: events of the given handling times, cut into chunks by chunkCloses
          const chunks: Array<{ size: number; ageBeforeLastMs: number }> = [];
          let size = 0;
          let ageMs = 0;
          durations.forEach((d, i) => {
            size++;
            ageMs += d;
            const remaining = durations.length - i - 1;
            if (chunkCloses({ size, ageMs, remaining, stopping: false }, { batchSize, commitIntervalMs })) {
              chunks.push({ size, ageBeforeLastMs: ageMs - d });
              size = 0;
              ageMs = 0;
            }
          });
          expect(size).toBe(0); // the fetch's last event always closes its chunk
          expect(chunks.reduce((n, c) => n + c.size, 0)).toBe(durations.length);
          for (const c of chunks) {
            expect(c.size).toBeLessThanOrEqual(batchSize);
            // a chunk closes after the event that made it old: without that event, it was younger than the interval
            expect(c.ageBeforeLastMs).toBeLessThan(commitIntervalMs);
          }
        },
      ),
    );
  });

  it('skips what an earlier owner committed, and nothing when there is no committed offset', () => {
    const messages = at(3, 4, 5, 6);
    expect(unseenMessages(messages, undefined)).toBe(messages);
    expect(unseenMessages(messages, 5n).map((m) => m.offset)).toEqual(['5', '6']);
    expect(unseenMessages(messages, 9n)).toEqual([]);
  });

  it("commits up to a chunk's last message, and the fetch's last chunk past its control records", () => {
    const messages = at(10, 11, 13, 14);
    expect(lastOffsetOf(messages, 2, '16')).toBe('11');
    expect(lastOffsetOf(messages, 4, '16')).toBe('16');
    expect(nextOffsetAfter('16')).toBe('17');
    expect(nextOffsetAfter('9007199254740993')).toBe('9007199254740994');
  });

  it('remembers the last maxKeys keys, forgetting the oldest first', () => {
    const window = new DedupeWindow(3);
    for (const k of ['a', 'b', 'c', 'b', 'd']) window.add(k, `hash-${k}`);
    expect(window.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((k) => window.has(k))).toEqual([false, true, true, true]);
    expect(window.get('d')).toBe('hash-d');
  });

  it('tells a duplicate (same id, same hash) from an id reused with other content', () => {
    expect(recurrenceOf(undefined, 'h1')).toEqual({ kind: 'new' });
    expect(recurrenceOf('h1', 'h1')).toEqual({ kind: 'duplicate' });
    expect(recurrenceOf('h1', 'h2')).toEqual({ kind: 'conflict', seenHash: 'h1' });
  });
});
