/**
 * The contracts' canonical JSON (RFC 8785 as the `canonicalize` package writes it), written for speed: the guard
 * hashes every proposal and task state, and the package form costs about 20 us per kilobyte. The output is the same
 * string, character for character (test/fast-canonical.unit.test.ts checks it against canonicalJson on the
 * contracts' vectors and on random JSON), so fastCanonicalHash(x) === canonicalHash(x) from @warden/contracts.
 * Deeply frozen objects are serialised once and remembered (see frozenForms).
 */
import { CanonicalFormError, sha256Hex } from '@warden/contracts';

/** A UTF-16 surrogate without its pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(reason: string): never {
  throw new CanonicalFormError(`value has no canonical JSON form: ${reason}`);
}

/** A string JSON.stringify leaves as it is between its quotes: no quote, backslash, control character or surrogate. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const PLAIN_STRING = /^[^"\\\u0000-\u001f\uD800-\uDFFF]*$/;

function writeString(text: string): string {
  if (PLAIN_STRING.test(text)) return `"${text}"`;
  if (LONE_SURROGATE.test(text)) refuse('Lone surrogate is not allowed');
  return JSON.stringify(text);
}

/**
 * Canonical JSON of deeply frozen objects, by identity. A frozen object whose descendants are all frozen can never
 * change, so its canonical form is computed once: a handler that freezes the task data and tool results it keeps
 * (as event data should be) pays for hashing them once per task, not once per proposal. Unfrozen data is simply
 * serialised every time. A WeakMap: entries go with their objects.
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
  for (let i = 1; i < keys.length; i += 1) if ((keys[i - 1] ?? '') > (keys[i] ?? '')) return false;
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
    case 'object': {
      if (value === null) return 'null';
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
        out = '[';
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          if (i > 0) out += ',';
          out += item === undefined || typeof item === 'symbol' ? 'null' : write(item, walk);
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
          if (item === undefined || typeof item === 'symbol') continue;
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
    default:
      return refuse(`${typeof value} has no JSON form`);
  }
}

/**
 * canonicalJson from @warden/contracts, faster; throws the same CanonicalFormError on NaN, Infinity, lone
 * surrogates and cycles. `known` gives canonical forms the caller computed a moment ago (e.g. of the args inside a
 * proposal), by identity; the caller vouches that those objects have not changed since.
 */
export function fastCanonicalJson(value: unknown, known?: ReadonlyMap<object, string>): string {
  if (value === undefined) refuse('undefined at the root');
  return write(value, { ancestors: [], deeplyFrozen: true, known });
}

/** canonicalHash from @warden/contracts, faster: sha256 of fastCanonicalJson(value). */
export function fastCanonicalHash(value: unknown): string {
  return sha256Hex(fastCanonicalJson(value));
}

/**
 * Freezes a value and everything in it, in place, and returns it. Event data the guard's handler keeps across
 * proposals (the task, tool results, facts) should be frozen: nothing can then change it behind the audit hashes,
 * and decide() hashes it once instead of on every proposal.
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
