import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { CanonicalFormError } from './errors.js';

/**
 * The canonical JSON form of a value (RFC 8785, JSON Canonicalization Scheme): object keys sorted by UTF-16
 * code units, no whitespace, numbers in their shortest round-trip form. NaN, Infinity, lone surrogates and
 * cycles are refused with a CanonicalFormError. Object properties whose value is undefined are omitted.
 */
export function canonicalJson(value: unknown): string {
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (error) {
    throw new CanonicalFormError(`value has no canonical JSON form: ${(error as Error).message}`, { cause: error });
  }
  if (out === undefined) throw new CanonicalFormError('value has no canonical JSON form: undefined at the root');
  return out;
}

/** Lower-case hex sha256 of a string (UTF-8) or bytes. */
export function sha256Hex(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('hex');
}

/** sha256 of a value's canonical JSON form: the hash used for events, args and verdict inputs. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
