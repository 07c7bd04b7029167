import { hash } from 'node:crypto';
import { CanonicalFormError } from './errors.js';

/*
 * RFC 8785 (JSON Canonicalization Scheme) for the JSON values Warden events hold, written for speed: hashing is on
 * every event's path (ADR 0002, ADR 0011) and the guard hashes every proposal and task state (ADR 0003). One walk
 * writes the text: object keys sorted by UTF-16 code units (what Array.prototype.sort does on strings), strings
 * that need no escape written as they are, numbers as JSON.stringify writes them (their shortest round-trip form).
 * A deeply frozen object is written once and remembered, so data kept frozen across calls (a task's submitted data,
 * tool results) costs nothing the second time. The `canonicalize` package is the reference: the unit tests compare
 * this writer with it on random values and on the vectors in schemas/test-vectors.
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

/** Members JSON.stringify leaves out of objects (and writes as null in arrays). */
function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * Canonical forms of deeply frozen objects, by identity. A frozen object whose descendants are all frozen can never
 * change (Warden's frozen values are plain data: no getters), so its form is computed once. A WeakMap: entries go
 * with their objects.
 */
const frozenForms = new WeakMap<object, string>();

/** The walk's state: the ancestors (cycle detection) and whether everything written so far was deeply frozen. */
interface Walk {
  readonly ancestors: object[];
  deeplyFrozen: boolean;
  /** Canonical forms the caller already has, by identity (for this call only). */
  readonly known: ReadonlyMap<object, string> | undefined;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i += 1) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

function write(value: unknown, walk: Walk): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (Number.isNaN(value)) refuse('NaN is not allowed');
      if (!Number.isFinite(value)) refuse('Infinity is not allowed');
      return String(value); // JSON.stringify of a finite number is its ToString
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return value === null ? 'null' : writeObject(value, walk);
    case 'bigint':
      return refuse('BigInt value can not be serialized in JSON');
    default:
      return refuse(`${typeof value} at the root`);
  }
}

function writeObject(value: object, walk: Walk): string {
  const given = walk.known?.get(value);
  if (given !== undefined) {
    walk.deeplyFrozen = false;
    return given;
  }
  const frozen = Object.isFrozen(value);
  if (frozen) {
    const known = frozenForms.get(value);
    if (known !== undefined) return known;
  }
  if (walk.ancestors.includes(value)) refuse('Circular reference detected');
  const outer = walk.deeplyFrozen;
  walk.deeplyFrozen = true;
  walk.ancestors.push(value);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  let out: string;
  if (typeof toJSON === 'function') {
    walk.deeplyFrozen = false; // toJSON may answer differently next time
    out = write(toJSON.call(value) as unknown, walk);
  } else if (Array.isArray(value)) {
    const items = value as unknown[];
    out = '[';
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i];
      if (i > 0) out += ',';
      out += isSkipped(item) ? 'null' : write(item, walk);
    }
    out += ']';
  } else {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (!isSorted(keys)) keys.sort(); // UTF-16 code-unit order, as RFC 8785 wants
    out = '{';
    let first = true;
    for (const key of keys) {
      const item = record[key];
      if (isSkipped(item)) continue;
      if (!first) out += ',';
      first = false;
      out += `${writeString(key)}:${write(item, walk)}`;
    }
    out += '}';
  }
  walk.ancestors.pop();
  const deeplyFrozen = frozen && walk.deeplyFrozen;
  if (deeplyFrozen) {
    void out.charCodeAt(0); // flattens the rope in place, so later concatenations stay cheap to hash
    frozenForms.set(value, out);
  }
  walk.deeplyFrozen = outer && deeplyFrozen;
  return out;
}

/**
 * The canonical JSON form of a value (RFC 8785, JSON Canonicalization Scheme): object keys sorted by UTF-16
 * code units, no whitespace, numbers in their shortest round-trip form. NaN, Infinity, lone surrogates, BigInt
 * and cycles are refused with a CanonicalFormError. Object properties whose value is undefined are omitted.
 * Deeply frozen objects (see deepFreeze) are written once and remembered. `known` gives canonical forms the caller
 * computed a moment ago (e.g. of the args inside a proposal), by identity; the caller vouches that those objects
 * have not changed since.
 */
export function canonicalJson(value: unknown, known?: ReadonlyMap<object, string>): string {
  if (isSkipped(value)) refuse(`${typeof value} at the root`);
  return write(value, { ancestors: [], deeplyFrozen: true, known });
}

/**
 * Freezes a value and everything in it, in place, and returns it. Data kept across calls (a task's submitted data,
 * tool results) should be frozen: nothing can then change it behind the hashes made of it, and canonicalJson writes
 * it once instead of on every call.
 */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null || seen.has(item)) continue;
    seen.add(item);
    Object.freeze(item);
    for (const child of Object.values(item)) stack.push(child);
  }
  return value;
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
