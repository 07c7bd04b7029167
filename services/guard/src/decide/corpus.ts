/**
 * Literal search for grounding: a corpus of normalised strings and numbers taken from JSON values, and a
 * token-aware lookup, so "4711" is found in "customer 4711." but not in "14711", "4711.5" or "C-4711".
 */

/** A searchable view of some JSON values: their strings (normalised) and numbers. */
export interface Corpus {
  /**
   * True when the values hold the literal: a number equal to it numerically (also one written in a string), or a
   * string containing it (normalised) as a whole token.
   */
  has(literal: string | number): boolean;
}

// eslint-disable-next-line no-control-regex -- "is this text all ASCII" spans the control characters too
const ASCII = /^[\x00-\x7f]*$/;
const NEEDS_WHITESPACE_FIX = /\s\s|[\t\n\r\f\v]|^\s|\s$/;

/** Unicode NFKC, lower case, whitespace runs as one space, trimmed. */
export function normaliseText(text: string): string {
  if (ASCII.test(text)) {
    const lower = text.toLowerCase();
    return NEEDS_WHITESPACE_FIX.test(lower) ? lower.replace(/\s+/g, ' ').trim() : lower;
  }
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * Numbers written in text: "1,250.00" (1250), "$120.50" (120.5), "15%" (15), "-3". Digits glued to letters or
 * to other digits by "-", "." or "/" ("INV-2024-0042", "v2", "2024-01-15", "10.0.0.1") are not numbers.
 */
const NUMBER_IN_TEXT =
  /(?<![\p{L}\p{N}_.@/-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\p{L}\p{N}_@/]|[.-][\p{L}\p{N}])/gu;
/** The same for ASCII text, without Unicode property classes (several times faster). */
const NUMBER_IN_ASCII =
  /(?<![A-Za-z0-9_.@/-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![A-Za-z0-9_@/]|[.-][A-Za-z0-9])/g;
const DIGIT = /\d/;

/** Every number written in `text`. */
export function extractNumbers(text: string): number[] {
  if (!DIGIT.test(text)) return [];
  const pattern = ASCII.test(text) ? NUMBER_IN_ASCII : NUMBER_IN_TEXT;
  const out: number[] = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const value = Number(match[0].includes(',') ? match[0].replace(/,/g, '') : match[0]);
    if (Number.isFinite(value)) out.push(value);
  }
  return out;
}

const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})t\d{2}:\d{2}/;
/** Object keys are searched only when they look like ids or addresses (a digit or an @), not field names. */
const KEY_WORTH_INDEXING = /[\d@]/;

const WORD = /[\p{L}\p{N}_]/u;
const ASCII_WORD = /[A-Za-z0-9_]/;
/** Characters that glue two word characters into one token ("a.b", "a-b", "a@b", "a/b", "a+b"). */
const JOINERS = new Set(['.', '-', '@', '/', '+']);

function isWord(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  return ch.charCodeAt(0) < 128 ? ASCII_WORD.test(ch) : WORD.test(ch);
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

function containsToken(text: string, needle: string): boolean {
  let at = text.indexOf(needle);
  while (at !== -1) {
    if (isBounded(text, at, at + needle.length)) return true;
    at = text.indexOf(needle, at + 1);
  }
  return false;
}

/** Canonical decimal form without leading zeros: such a string and the number compare equal. */
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** A literal prepared for search. */
interface Needle {
  readonly text: string | null;
  readonly number: number | null;
}

function needleOf(literal: string | number): Needle {
  if (typeof literal === 'number') return { text: null, number: literal };
  const text = normaliseText(literal);
  return { text, number: PLAIN_NUMBER.test(text) ? Number(text) : null };
}

/**
 * A corpus over some JSON values. It indexes lazily, in the order given, and stops as soon as a literal is found,
 * so a literal from the goal or the input costs little however many tool results there are. Walked iteratively:
 * depth cannot overflow the stack.
 */
export function buildCorpus(values: Iterable<unknown>): Corpus {
  const strings: string[] = [];
  const numbers = new Set<number>();
  const pending: unknown[] = [...values].reverse();

  const matchesFrom = (needle: Needle, firstString: number): boolean => {
    if (needle.number !== null && numbers.has(needle.number)) return true;
    if (needle.text === null) return false;
    for (let i = firstString; i < strings.length; i += 1) {
      if (containsToken(strings[i] ?? '', needle.text)) return true;
    }
    return false;
  };

  const indexString = (text: string): void => {
    const normalised = normaliseText(text);
    if (normalised !== '') strings.push(normalised);
    // An ISO timestamp also states its date: "2024-05-11T09:30:00Z" grounds "2024-05-11".
    if (normalised.length >= 16 && normalised[10] === 't') {
      const date = ISO_DATE_TIME.exec(normalised);
      if (date?.[1] !== undefined) strings.push(date[1]);
    }
    for (const n of extractNumbers(text)) numbers.add(n);
  };

  /** Indexes the next primitive; false when everything is indexed. */
  const step = (): boolean => {
    while (pending.length > 0) {
      const value = pending.pop();
      if (typeof value === 'string') {
        indexString(value);
        return true;
      }
      if (typeof value === 'number') {
        if (Number.isFinite(value)) numbers.add(value);
        return true;
      }
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i -= 1) pending.push(value[i]);
      } else if (typeof value === 'object' && value !== null) {
        const entries = Object.entries(value as Record<string, unknown>);
        for (let i = entries.length - 1; i >= 0; i -= 1) {
          const entry = entries[i];
          if (entry === undefined) continue;
          pending.push(entry[1]);
          if (KEY_WORTH_INDEXING.test(entry[0])) pending.push(entry[0]);
        }
      }
      // booleans, null and undefined state nothing searchable
    }
    return false;
  };

  return {
    has(literal) {
      const needle = needleOf(literal);
      if (needle.text === '') return true;
      if (matchesFrom(needle, 0)) return true;
      for (;;) {
        const firstNew = strings.length;
        if (!step()) return false;
        if (matchesFrom(needle, firstNew)) return true;
      }
    },
  };
}

/** True when the corpus holds the literal (see Corpus.has). */
export function corpusHas(corpus: Corpus, literal: string | number): boolean {
  return corpus.has(literal);
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const URL_TEXT = /\bhttps?:\/\/[^\s"'<>]+/giu;
const QUOTED = /"([^"\n]{1,200})"|“([^”\n]{1,200})”/gu;
const TOKEN = /[\p{L}\p{N}_][\p{L}\p{N}_\-./:#]*/gu;
const ASCII_TOKEN = /[A-Za-z0-9_][A-Za-z0-9_\-./:#]*/g;
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
  if (rest.includes('://')) take(URL_TEXT, (m) => m[0]);
  if (rest.includes('@')) take(EMAIL, (m) => m[0]);
  if (rest.includes('"') || rest.includes('“')) take(QUOTED, (m) => m[1] ?? m[2]);
  out.push(...extractNumbers(rest));
  if (!HAS_DIGIT.test(rest)) return [...new Set(out)];
  for (const match of rest.matchAll(ASCII.test(rest) ? ASCII_TOKEN : TOKEN)) {
    const token = match[0].replace(/[-./:#]+$/u, '');
    if (HAS_DIGIT.test(token) && !NUMBER_TOKEN.test(token)) out.push(token);
  }
  return [...new Set(out)];
}
