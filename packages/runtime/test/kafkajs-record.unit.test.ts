import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs's record encoder is patched (patches/kafkajs+2.2.4.patch, ADR 0011): records are sized exactly and their
 * headers written in place. The bytes must stay exactly what the Kafka protocol defines, so they are compared with
 * an encoder written here from the protocol's definition of a v2 record.
 */
const require = createRequire(import.meta.url);
type Headers = Record<string, string | Buffer | Array<string | Buffer>>;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: string | Buffer | null;
  value: Buffer | null;
  headers: Headers;
}) => { buffer: Buffer };

/** Unsigned LEB128 of a zigzag-encoded integer (the protocol's varint and varlong). */
function varint(value: bigint): number[] {
  let n = value >= 0n ? value << 1n : (-value << 1n) - 1n;
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

const bytes = (v: string | Buffer | null): number[] => {
  if (v === null) return varint(-1n);
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return [...varint(BigInt(b.length)), ...b];
};

/** Record => Length Attributes TimestampDelta OffsetDelta Key Value [HeaderKey HeaderValue] (KIP-98). */
function reference(
  offsetDelta: number,
  timestampDelta: number,
  key: string | Buffer | null,
  value: Buffer | null,
  headers: Headers,
): Buffer {
  const pairs = Object.entries(headers).flatMap(([k, v]) =>
    Array.isArray(v) ? v.map((x) => [k, x] as const) : [[k, v] as const],
  );
  const body = [
    0,
    ...varint(BigInt(timestampDelta)),
    ...varint(BigInt(offsetDelta)),
    ...bytes(key),
    ...bytes(value),
    ...varint(BigInt(pairs.length)),
    ...pairs.flatMap(([k, v]) => [...bytes(k), ...bytes(v)]),
  ];
  return Buffer.from([...varint(BigInt(body.length)), ...body]);
}

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const blob = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a));
const headerValue = fc.oneof(text, blob);

describe('kafkajs record encoding (patched)', () => {
  it('writes the bytes the Kafka protocol defines, headers and all', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.option(fc.oneof(text, blob)),
        fc.option(fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a))),
        fc.dictionary(
          text.filter((k) => k.length > 0),
          fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })),
          { maxKeys: 9 },
        ),
        (offsetDelta, timestampDelta, key, value, headers) => {
          const encoded = Record({ offsetDelta, timestampDelta, key, value, headers }).buffer;
          expect(encoded.equals(reference(offsetDelta, timestampDelta, key, value, headers))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes a Warden message (seven headers) as the protocol defines it', () => {
    const headers = {
      'warden-event-type': 'TaskCompleted',
      'warden-event-id': '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      'warden-task-id': 'task-1',
      'warden-tenant-id': 'tenant-a',
      'warden-producer': 'noop@0.1.0',
      'content-type': 'application/vnd.warden.event+json; framing=confluent',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    };
    const value = Buffer.alloc(868, 0x61);
    const encoded = Record({ offsetDelta: 499, timestampDelta: 3, key: 'task-1', value, headers }).buffer;
    expect(encoded.equals(reference(499, 3, 'task-1', value, headers))).toBe(true);
  });
});
