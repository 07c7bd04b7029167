import picomatch from 'picomatch';

/**
 * Glob matching with picomatch, in a deliberately small dialect: `*`, `**`, `?`, `[...]` and `{a,b}`. Negation
 * (`!x`) and extglobs (`+(a|b)`) are off, so a pattern only ever widens by the characters it shows; `*` never
 * crosses a `/` and never matches a leading dot (hidden files need an explicit pattern). POSIX separators always.
 */
const baseOptions = {
  windows: false,
  dot: false,
  nonegate: true,
  noextglob: true,
  strictSlashes: true,
  maxLength: 1_000,
} as const;

type Matcher = (value: string) => boolean;

/** Compiled matchers by (case, pattern). A memo of a pure function: bounded, and invisible to callers. */
const cache = new Map<string, Matcher>();
const CACHE_MAX_ENTRIES = 4_096;

const never: Matcher = () => false;

/** The compiled matcher of one pattern; a pattern picomatch refuses matches nothing (fail closed). */
export function globMatcher(pattern: string, caseInsensitive: boolean): Matcher {
  const key = `${caseInsensitive ? 'i' : 's'}\u0000${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let matcher: Matcher;
  try {
    const compiled = picomatch(pattern, { ...baseOptions, nocase: caseInsensitive });
    matcher = (value) => compiled(value);
  } catch {
    // A malformed pattern is not an error of the proposal; it grants nothing.
    matcher = never;
  }
  if (cache.size >= CACHE_MAX_ENTRIES) cache.clear();
  cache.set(key, matcher);
  return matcher;
}

/** True when `value` matches at least one of `patterns`. */
export function matchesAny(value: string, patterns: readonly string[], caseInsensitive: boolean): boolean {
  for (const pattern of patterns) if (globMatcher(pattern, caseInsensitive)(value)) return true;
  return false;
}
