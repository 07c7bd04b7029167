import { hash } from 'node:crypto';
import { CanonicalFormError } from './errors.js';

/*
 * RFC 8785 (JSON Canonicalization Scheme) for the JSON values Warden events hold. In JavaScript, JCS is
 * JSON.stringify with object keys sorted by UTF-16 code units, which is exactly what Array.prototype.sort does on
 * strings. So the writer puts keys in that order (copying only the objects whose keys are not in it already),
 * refuses what has no canonical form, and lets the native JSON.stringify write the text in one go. The
 * `canonicalize` package is the reference (the unit tests compare this writer with it on random values and on the
 * vectors in schemas/test-vectors); this writer exists because hashing is on every event's path and the package
 * cost a quarter of a worker's CPU time (ADR 0002, ADR 0011).
 */

function refuse(reason: string): never {
  throw new CanonicalFormError(`value has no canonical JSON form: ${reason}`);
}

/** No quote, backslash, control character or surrogate: JSON.stringify would write it as it is. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function writeString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  if (!text.isWellFormed()) refuse('Lone surrogate is not allowed');
  return JSON.stringify(text);
}

/** The explicit writer, for values JSON.stringify cannot order (objects with integer-like keys). */
function write(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (Number.isNaN(value)) refuse('NaN is not allowed');
      if (!Number.isFinite(value)) refuse('Infinity is not allowed');
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (ancestors.includes(value)) refuse('Circular reference detected');
      ancestors.push(value);
      let out: string;
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        out = write(toJSON.call(value) as unknown, ancestors);
      } else if (Array.isArray(value)) {
        const items = value as unknown[];
        out = '[';
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (i > 0) out += ',';
          out +=
            item === undefined || typeof item === 'function' || typeof item === 'symbol'
              ? 'null'
              : write(item, ancestors);
        }
        out += ']';
      } else {
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record).sort();
        out = '{';
        let first = true;
        for (const key of keys) {
          const child = record[key];
          if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
          if (!first) out += ',';
          first = false;
          out += `${writeString(key)}:${write(child, ancestors)}`;
        }
        out += '}';
      }
      ancestors.pop();
      return out;
    }
    case 'bigint':
      return refuse('BigInt value can not be serialized in JSON');
    default:
      return refuse(`${typeof value} at the root`);
  }
}

/** Members JSON.stringify leaves out of objects (and writes as null in arrays). */
function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * `value` ready for JSON.stringify to write canonically: the value itself when it already is (keys in order,
 * nothing to refuse), else a copy with keys in order and toJSON applied. Refuses NaN, Infinity, lone surrogates,
 * BigInt and cycles.
 */
function ordered(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) refuse('Lone surrogate is not allowed');
      return value;
    case 'number':
      if (Number.isNaN(value)) refuse('NaN is not allowed');
      if (!Number.isFinite(value)) refuse('Infinity is not allowed');
      return value;
    case 'bigint':
      return refuse('BigInt value can not be serialized in JSON');
    case 'object':
      return value === null ? null : orderedObject(value, ancestors);
    default:
      return value;
  }
}

/** A copy's object: without a prototype, a "__proto__" key is a plain member like any other. */
const bare = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;

/** Thrown (and caught by canonicalJson) when an object has a key JSON.stringify would move: an array index. */
class IndexKeyFound extends Error {}
const INDEX_KEY = new IndexKeyFound('integer-like key');

/** V8 writes array-index keys ("0", "17") first, in numeric order, whatever order they were set in. */
function isIndexKey(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57 && /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;
}

function orderedObject(value: object, ancestors: object[]): unknown {
  if (ancestors.includes(value)) refuse('Circular reference detected');
  ancestors.push(value);
  let out: unknown = value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    out = ordered(toJSON.call(value) as unknown, ancestors);
  } else if (Array.isArray(value)) {
    const items = value as unknown[];
    let copy: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const next = isSkipped(item) ? item : ordered(item, ancestors);
      if (next !== item) (copy ??= items.slice())[i] = next;
    }
    out = copy ?? items;
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    let sorted = true;
    for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
    if (!sorted) keys.sort();
    let copy: Record<string, unknown> | undefined = sorted ? undefined : bare();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!key.isWellFormed()) refuse('Lone surrogate is not allowed');
      if (isIndexKey(key)) throw INDEX_KEY;
      const child = record[key];
      const next = isSkipped(child) ? child : ordered(child, ancestors);
      if (copy === undefined && next !== child) {
        copy = bare();
        for (let j = 0; j < i; j++) copy[keys[j]!] = record[keys[j]!];
      }
      if (copy !== undefined) copy[key] = next;
    }
    out = copy ?? record;
  }
  ancestors.pop();
  return out;
}

/**
 * The canonical JSON form of a value (RFC 8785, JSON Canonicalization Scheme): object keys sorted by UTF-16
 * code units, no whitespace, numbers in their shortest round-trip form. NaN, Infinity, lone surrogates, BigInt
 * and cycles are refused with a CanonicalFormError. Object properties whose value is undefined are omitted.
 */
export function canonicalJson(value: unknown): string {
  let prepared: unknown;
  try {
    prepared = ordered(value, []);
  } catch (error) {
    if (error === INDEX_KEY) return write(value, []);
    throw error;
  }
  const text = JSON.stringify(prepared) as string | undefined;
  if (text === undefined) refuse(`${typeof value} at the root`);
  return text;
}

/** Lower-case hex sha256 of a string (UTF-8) or bytes (one-shot `crypto.hash`: Node >= 20.12, see engines). */
export function sha256Hex(input: string | Uint8Array): string {
  return hash('sha256', input, 'hex');
}

/** sha256 of a value's canonical JSON form: the hash used for events, args and verdict inputs. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** An escaped UTF-16 surrogate: JSON.stringify writes a lone one escaped, which has no canonical form. */
const ESCAPED_SURROGATE = /\\u[dD][89abAB]/;

/**
 * Object keys in canonical order (UTF-16 code units, ascending, as sort() compares) all the way down. ordered()
 * answers this too, but with an Object.keys array and a well-formedness check per string; this read-only walk is
 * about 1 us per event cheaper on decode, where the text's escapes are checked with ESCAPED_SURROGATE instead.
 */
function keysInOrder(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysInOrder(item)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!keysInOrder((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * canonicalHash(value), given `text`, the JSON that `value` was parsed from. When the text is already the
 * canonical form (Warden's encoder writes it), its sha256 is the hash, and only the check costs: JSON.stringify
 * of the parsed value gives back the text (no whitespace, JSON's escapes, shortest numbers) and the keys are in
 * canonical order. Any other text is hashed in canonical form, as canonicalHash does.
 */
export function canonicalHashOfParsed(text: string, value: unknown): string {
  if (!ESCAPED_SURROGATE.test(text) && JSON.stringify(value) === text && keysInOrder(value)) return sha256Hex(text);
  return canonicalHash(value);
}

/**
 * What an approval of an answer is bound to (its `argsHash`): the hash of `{answer, output}`, output null when the
 * answer has none. The guard's verdicts, a person's HumanApproved and the planner's check all use this.
 */
export function answerHash(answer: string, output: unknown): string {
  return canonicalHash({ answer, output: output ?? null });
}
