/**
 * Literal search for grounding: a corpus of normalised strings and numbers taken from JSON values, and a
 * token-aware lookup, so "4711" is found in "customer 4711." but not in "14711", "4711.5" or "C-4711".
 */

/** The strings (normalised) and numbers found in some JSON values. */
export interface Corpus {
  /** Every string value and object key, normalised. */
  readonly strings: readonly string[];
  /** Every number value, and every number written inside a string. */
  readonly numbers: ReadonlySet<number>;
}

/** Unicode NFKC, lower case, whitespace runs as one space, trimmed. */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * Numbers written in text: "1,250.00" (1250), "$120.50" (120.5), "15%" (15), "-3". Digits glued to letters or
 * to other digits by "-", "." or "/" ("INV-2024-0042", "v2", "2024-01-15", "10.0.0.1") are not numbers.
 */
const NUMBER_IN_TEXT = /(?<![\p{L}\p{N}_.@/-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\p{L}\p{N}_@/]|[.-][\p{L}\p{N}])/gu;

/** Every number written in `text`. */
export function extractNumbers(text: string): number[] {
  const out: number[] = [];
  for (const match of text.matchAll(NUMBER_IN_TEXT)) {
    const value = Number(match[0].replace(/,/g, ''));
    if (Number.isFinite(value)) out.push(value);
  }
  return out;
}

const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})t\d{2}:\d{2}/;

/** Builds the corpus of some JSON values (walked iteratively: depth cannot overflow the stack). */
export function buildCorpus(values: Iterable<unknown>): Corpus {
  const strings: string[] = [];
  const numbers = new Set<number>();
  const addString = (text: string): void => {
    const normalised = normaliseText(text);
    if (normalised !== '') strings.push(normalised);
    // An ISO timestamp also states its date: "2024-05-11T09:30:00Z" grounds "2024-05-11".
    const date = ISO_DATE_TIME.exec(normalised);
    if (date?.[1] !== undefined) strings.push(date[1]);
    for (const n of extractNumbers(text)) numbers.add(n);
  };
  const stack: unknown[] = [...values];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') addString(value);
    else if (typeof value === 'number') {
      if (Number.isFinite(value)) numbers.add(value);
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        addString(key);
        stack.push(item);
      }
    }
  }
  return { strings, numbers };
}

const WORD = /[\p{L}\p{N}_]/u;
/** Characters that glue two word characters into one token ("a.b", "a-b", "a@b", "a/b", "a+b"). */
const JOINERS = new Set(['.', '-', '@', '/', '+']);

function isWord(ch: string | undefined): boolean {
  return ch !== undefined && WORD.test(ch);
}

/** True when text[start, end) is a whole token: not glued to word characters on either side. */
function isBounded(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  const after = text[end];
  if (isWord(before) || isWord(after)) return false;
  if (before !== undefined && JOINERS.has(before) && isWord(text[start - 2])) return false;
  if (after !== undefined && JOINERS.has(after) && isWord(text[end + 1])) return false;
  return true;
}

/** Canonical decimal form without leading zeros: such a string and the number compare equal. */
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/**
 * True when the corpus holds the literal: a number equal to it numerically (also when written in a string), or
 * a string containing it (normalised) as a whole token.
 */
export function corpusHas(corpus: Corpus, literal: string | number): boolean {
  if (typeof literal === 'number') return corpus.numbers.has(literal);
  const needle = normaliseText(literal);
  if (needle === '') return true;
  if (PLAIN_NUMBER.test(needle) && corpus.numbers.has(Number(needle))) return true;
  for (const text of corpus.strings) {
    let at = text.indexOf(needle);
    while (at !== -1) {
      if (isBounded(text, at, at + needle.length)) return true;
      at = text.indexOf(needle, at + 1);
    }
  }
  return false;
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const URL_TEXT = /\bhttps?:\/\/[^\s"'<>]+/giu;
const QUOTED = /"([^"\n]{1,200})"|“([^”\n]{1,200})”/gu;
const TOKEN = /[\p{L}\p{N}_][\p{L}\p{N}_\-./:#]*/gu;
const HAS_DIGIT = /\p{N}/u;
const NUMBER_TOKEN = /^-?[\d,]+(?:\.\d+)?$/;

/**
 * The literals a claim's text commits to, each of which its evidence must contain: URLs, e-mail addresses,
 * quoted strings, numbers and id-like tokens (a digit mixed with letters or "-", e.g. "C-4711", "2024-01-15").
 * Plain words are not checked: a literal fact-check, not language understanding.
 */
export function salientLiterals(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  let rest = text;
  const take = (pattern: RegExp, pick: (m: RegExpMatchArray) => string | undefined): void => {
    for (const match of rest.matchAll(pattern)) {
      const literal = pick(match);
      if (literal !== undefined) out.push(literal.replace(/[.,;:!?)]+$/u, ''));
    }
    rest = rest.replace(pattern, ' ');
  };
  take(URL_TEXT, (m) => m[0]);
  take(EMAIL, (m) => m[0]);
  take(QUOTED, (m) => m[1] ?? m[2]);
  out.push(...extractNumbers(rest));
  for (const match of rest.matchAll(TOKEN)) {
    const token = match[0].replace(/[-./:#]+$/u, '');
    if (HAS_DIGIT.test(token) && !NUMBER_TOKEN.test(token)) out.push(token);
  }
  return [...new Set(out)];
}
