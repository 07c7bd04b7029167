import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CanonicalFormError,
  canonicalHash,
  canonicalJson,
  deepFreeze,
  sha256Hex,
  type CanonicalVector,
} from '@warden/contracts';

function outcome(fn: () => string | undefined): { ok: string | undefined } | { error: string } {
  try {
    return { ok: fn() };
  } catch (error) {
    return { error: error instanceof CanonicalFormError ? 'CanonicalFormError' : String(error) };
  }
}

const stored = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../../schemas/test-vectors/canonical.json'), 'utf8'),
) as CanonicalVector[];

const key = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('1', '10', '9', '__proto__', 'a', 'A', '\u00e9', '\ud83d\ude00'),
);
/** Random JSON with any unicode (lone surrogates included) and integer-like keys. */
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

/** What the reference (the canonicalize package) writes, or the error canonicalJson must throw. */
function reference(value: unknown): { ok: string | undefined } | { error: string } {
  try {
    // The package writes lone surrogates as escapes; RFC 8785 (I-JSON) refuses them, as canonicalJson does.
    if (JSON.stringify(value)?.match(/\\u[dD][89a-fA-F]/)) return { error: 'CanonicalFormError' };
    return { ok: canonicalize(value) };
  } catch {
    return { error: 'CanonicalFormError' }; // the package refuses NaN and Infinity with a plain Error
  }
}

describe('canonicalJson on deeply frozen values (written once, remembered) and with forms the caller knows', () => {
  it('matches the vectors checked into schemas/test-vectors, the first time and when remembered', () => {
    for (const vector of stored) {
      const frozen = deepFreeze(JSON.parse(vector.inputJson) as unknown);
      for (let pass = 0; pass < 2; pass++) {
        expect(canonicalJson(frozen), vector.name).toBe(vector.canonical);
        expect(canonicalHash(frozen), vector.name).toBe(vector.sha256);
        expect(sha256Hex(canonicalJson({ v: frozen })), vector.name).toBe(sha256Hex(`{"v":${vector.canonical}}`));
      }
    }
  });

  it('matches the canonicalize package on random JSON, unicode and integer-like keys included, frozen or not', () => {
    fc.assert(
      fc.property(json, (value) => {
        const expected = reference(value);
        expect(outcome(() => canonicalJson(value))).toEqual(expected);
        const frozen = deepFreeze(structuredClone(value));
        expect(outcome(() => canonicalJson(frozen))).toEqual(expected);
        expect(outcome(() => canonicalJson(frozen))).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('uses a form the caller knows for that object, and gives the same text as without it', () => {
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 4 }), (args) => {
        const form = outcome(() => canonicalJson(args));
        fc.pre('ok' in form);
        const proposal = { tool: 't', args, z: [1, { b: 2, a: 1 }] };
        const known = new Map<object, string>([[args, canonicalJson(args)]]);
        expect(canonicalJson(proposal, known)).toBe(canonicalize(proposal));
      }),
      { numRuns: 500 },
    );
  });

  it('re-reads what is not frozen all the way down, so a change under a frozen parent is seen', () => {
    const child = { n: 1 };
    const parent = Object.freeze({ child, list: Object.freeze([1, 2]) });
    expect(canonicalJson(parent)).toBe('{"child":{"n":1},"list":[1,2]}');
    child.n = 2;
    expect(canonicalJson(parent)).toBe('{"child":{"n":2},"list":[1,2]}');
    const toJSON = { toJSON: () => ({ at: child.n }) };
    const withToJSON = Object.freeze({ t: Object.freeze(toJSON) });
    expect(canonicalJson(withToJSON)).toBe('{"t":{"at":2}}');
    child.n = 3;
    expect(canonicalJson(withToJSON)).toBe('{"t":{"at":3}}');
  });

  it('refuses what the reference refuses, frozen or not, with a CanonicalFormError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { a: '\ud800' }, { '\udc00': 1 }, cyclic, undefined, 1n]) {
      expect(outcome(() => canonicalJson(bad))).toEqual({ error: 'CanonicalFormError' });
      if (bad !== undefined)
        expect(outcome(() => canonicalJson(deepFreeze({ bad })))).toEqual({ error: 'CanonicalFormError' });
    }
  });
});
