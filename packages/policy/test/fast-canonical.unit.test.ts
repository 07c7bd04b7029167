import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalFormError, canonicalHash, canonicalJson, canonicalVectors } from '@warden/contracts';
import { fastCanonicalHash, fastCanonicalJson } from '../src/index.js';
import { baseState } from './helpers.js';

function outcome(fn: () => string): { ok: string } | { error: string } {
  try {
    return { ok: fn() };
  } catch (error) {
    return { error: error instanceof CanonicalFormError ? 'CanonicalFormError' : String(error) };
  }
}

describe("fastCanonicalJson is the contracts' canonicalJson, faster", () => {
  it('matches every contracts test vector', () => {
    for (const vector of canonicalVectors()) {
      expect(fastCanonicalJson(JSON.parse(vector.inputJson))).toBe(vector.canonical);
      expect(fastCanonicalHash(JSON.parse(vector.inputJson))).toBe(vector.sha256);
    }
  });

  it('matches on random JSON, unicode and integer-like keys included', () => {
    const key = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('1', '10', '9', '__proto__', 'a', 'A', '\u00e9', '\ud83d\ude00'),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'binary' }),
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(outcome(() => fastCanonicalJson(value))).toEqual(outcome(() => canonicalJson(value)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses what canonicalJson refuses, with the same error class', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { a: '\ud800' }, { '\udc00': 1 }, cyclic, undefined]) {
      expect(outcome(() => fastCanonicalJson(bad))).toEqual({ error: 'CanonicalFormError' });
      expect(outcome(() => canonicalJson(bad))).toEqual({ error: 'CanonicalFormError' });
    }
  });

  it('hashes a guard state exactly as canonicalHash does', () => {
    const state = baseState();
    expect(fastCanonicalHash(state)).toBe(canonicalHash(state));
  });
});
