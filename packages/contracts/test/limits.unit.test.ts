import fc from 'fast-check';
import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  CLIP_MARKER,
  IDENTIFIER_PATTERN,
  Identifier,
  MAX_ID_CHARS,
  MONGO_DUPLICATE_KEY_CODE,
  clipText,
  isDuplicateKeyError,
  isIdentifier,
} from '@warden/contracts';

describe('clipText', () => {
  it('keeps a text that fits and marks one that does not, never longer than the limit', () => {
    expect(clipText('hello', 5)).toBe('hello');
    expect(clipText('hello!', 5)).toBe(`hell${CLIP_MARKER}`);
    expect(clipText('hello', 1)).toBe(CLIP_MARKER);
    expect(clipText('hello', 0)).toBe('');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 0, max: 50 }), (text, maxChars) => {
        const clipped = clipText(text, maxChars);
        expect(clipped.length).toBeLessThanOrEqual(maxChars);
        if (text.length <= maxChars) expect(clipped).toBe(text);
        else if (maxChars > 0) {
          expect(clipped.endsWith(CLIP_MARKER)).toBe(true);
          expect(text.startsWith(clipped.slice(0, -CLIP_MARKER.length))).toBe(true);
        }
      }),
    );
  });

  it('never splits a surrogate pair', () => {
    expect(clipText('ab\u{1F600}cd', 4)).toBe(`ab${CLIP_MARKER}`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 0, max: 30 }), (text, maxChars) => {
        expect(clipText(text, maxChars).isWellFormed()).toBe(true);
      }),
    );
  });
});

describe('isIdentifier', () => {
  it('agrees with the Identifier schema', () => {
    const idish = fc.string({ unit: fc.constantFrom(...'aZ09._:@/- é'.split('')), maxLength: MAX_ID_CHARS + 2 });
    fc.assert(
      fc.property(fc.oneof(idish, fc.string()), (value) => {
        expect(isIdentifier(value)).toBe(Identifier.safeParse(value).success);
      }),
    );
    expect(isIdentifier('tenant-a:task/1@x.y_z')).toBe(true);
    expect(isIdentifier('-leading')).toBe(false);
    expect(isIdentifier('a'.repeat(MAX_ID_CHARS))).toBe(true);
    expect(isIdentifier('a'.repeat(MAX_ID_CHARS + 1))).toBe(false);
    expect(IDENTIFIER_PATTERN.test('')).toBe(false);
  });
});

describe('isDuplicateKeyError', () => {
  it("is true for MongoDB's E11000 only", () => {
    expect(isDuplicateKeyError(new MongoServerError({ message: 'E11000', code: MONGO_DUPLICATE_KEY_CODE }))).toBe(true);
    expect(isDuplicateKeyError(new MongoServerError({ message: 'other', code: 2 }))).toBe(false);
    expect(isDuplicateKeyError(Object.assign(new Error('E11000'), { code: 11000 }))).toBe(false);
    expect(isDuplicateKeyError(undefined)).toBe(false);
  });
});
