import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CanonicalFormError,
  canonicalHash,
  canonicalHashOfParsed,
  canonicalJson,
  sha256Hex,
  type CanonicalVector,
} from '@warden/contracts';

describe('canonical JSON', () => {
  it('sorts keys, drops whitespace and writes numbers in shortest form', () => {
    expect(canonicalJson({ b: 1, a: [1.0, 1e21, 0.1], c: { y: null, x: 'é' } })).toBe(
      '{"a":[1,1e+21,0.1],"b":1,"c":{"x":"é","y":null}}',
    );
  });

  it('gives equal hashes for equal values written in another key order', () => {
    expect(canonicalHash({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(canonicalHash({ a: 1 })).not.toBe(canonicalHash({ a: 2 }));
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a lone surrogate', '\ud800'],
    ['undefined', undefined],
  ])('refuses %s with a typed error', (_name, value) => {
    expect(() => canonicalJson({ v: value === undefined ? value : [value] }.v)).toThrow(CanonicalFormError);
  });

  it('matches the vectors checked into schemas/test-vectors', async () => {
    const file = resolve(import.meta.dirname, '../../../schemas/test-vectors/canonical.json');
    const stored = JSON.parse(await readFile(file, 'utf8')) as CanonicalVector[];
    expect(stored.length).toBeGreaterThanOrEqual(7);
    for (const vector of stored) {
      const canonical = canonicalJson(JSON.parse(vector.inputJson));
      expect(canonical, vector.name).toBe(vector.canonical);
      expect(sha256Hex(canonical), vector.name).toBe(vector.sha256);
    }
  });
});

describe('canonical JSON against the reference implementation (the canonicalize package)', () => {
  it('writes the same text for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes the same text for objects with undefined members, dates and unicode keys', () => {
    const value = { z: undefined, é: [undefined, 1], '\u20ac': new Date(0), '😀': 'x', a: { b: -0, c: 1e-7 } };
    expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('orders integer-like keys as strings, which JSON.stringify alone would not', () => {
    const value = { b: { '2': 1, '10': 2, '-a': 3, x: [{ '1': null, '0': true }] }, '9': 'nine', '10': 'ten', a: 1 };
    expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(canonicalJson(value)).toBe(
      '{"10":"ten","9":"nine","a":1,"b":{"-a":3,"10":2,"2":1,"x":[{"0":true,"1":null}]}}',
    );
  });

  it('orders what toJSON returns, and refuses lone surrogates in values and keys', () => {
    const value = { z: { toJSON: () => ({ y: 1, x: [new Date(0), { b: 2, a: 1 }] }) }, a: [undefined, 1] };
    expect(canonicalJson(value)).toBe(canonicalize(value));
    const proto = JSON.parse('{"b":1,"__proto__":{"y":2,"x":1}}') as unknown;
    expect(canonicalJson(proto)).toBe('{"__proto__":{"x":1,"y":2},"b":1}');
    expect(() => canonicalJson(undefined)).toThrow(CanonicalFormError);
    expect(() => canonicalJson({ s: 'ok', t: ['\ud800'] })).toThrow(CanonicalFormError);
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow(CanonicalFormError);
  });

  it('refuses cycles and BigInt', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(CanonicalFormError);
    expect(() => canonicalJson({ n: 1n })).toThrow(CanonicalFormError);
  });
});

describe('the hash of a parsed event, given its text', () => {
  const check = (text: string): void => {
    const value: unknown = JSON.parse(text);
    expect(canonicalHashOfParsed(text, value)).toBe(canonicalHash(value));
  };

  it('is canonicalHash of the value, whether the text is canonical or not', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        check(canonicalJson(value)); // the fast case: the text's own sha256
        check(JSON.stringify(value)); // keys in another order
        check(JSON.stringify(value, null, 1)); // whitespace
      }),
      { numRuns: 1000 },
    );
  });

  it('is the sha256 of a canonical text itself', () => {
    const text = canonicalJson({ b: [1, 'é', { d: null, c: 1e21 }], a: -0.5 });
    expect(canonicalHashOfParsed(text, JSON.parse(text))).toBe(sha256Hex(text));
  });

  it('does not trust texts that only look canonical', () => {
    check('{"10":1,"9":2}'); // canonical order, which JSON.parse does not keep for integer keys
    check('{"9":2,"10":1}');
    check('{"a":1.0}'); // 1.0 is written 1
    check('{"a":"\\u0041"}'); // an escape JSON.stringify would not write
    check('{"a":"\\ud83d\\ude00"}'); // an escaped pair, written as the character itself
    expect(() => canonicalHashOfParsed('"\\ud800"', JSON.parse('"\\ud800"'))).toThrow(CanonicalFormError);
  });
});
