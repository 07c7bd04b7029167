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
class LazyCorpus implements Corpus {
  private readonly strings: string[] = [];
  private readonly numbers = new Set<number>();
  private readonly pending: unknown[];

  constructor(values: Iterable<unknown>) {
    this.pending = [...values].reverse();
  }

  has(literal: string | number): boolean {
    const needle = needleOf(literal);
    if (needle.text === '') return true;
    if (this.matchesFrom(needle, 0)) return true;
    for (;;) {
      const firstNew = this.strings.length;
      if (!this.step()) return false;
      if (this.matchesFrom(needle, firstNew)) return true;
    }
  }

  private matchesFrom(needle: Needle, firstString: number): boolean {
    if (needle.number !== null && this.numbers.has(needle.number)) return true;
    if (needle.text === null) return false;
    for (let i = firstString; i < this.strings.length; i += 1) {
      if (containsToken(this.strings[i] ?? '', needle.text)) return true;
    }
    return false;
  }

  private indexString(text: string): void {
    const normalised = normaliseText(text);
    if (normalised !== '') this.strings.push(normalised);
    // An ISO timestamp also states its date: "2024-05-11T09:30:00Z" grounds "2024-05-11".
    if (normalised.length >= 16 && normalised[10] === 't') {
      const date = ISO_DATE_TIME.exec(normalised);
      if (date?.[1] !== undefined) this.strings.push(date[1]);
    }
    for (const n of extractNumbers(text)) this.numbers.add(n);
  }

  /** Indexes the next primitive; false when everything is indexed. */
  private step(): boolean {
    const pending = this.pending;
    while (pending.length > 0) {
      const value = pending.pop();
      if (typeof value === 'string') {
        this.indexString(value);
        return true;
      }
      if (typeof value === 'number') {
        if (Number.isFinite(value)) this.numbers.add(value);
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
  }
}

/** A lazily indexed corpus over some JSON values (searched in the order given). */
export function buildCorpus(values: Iterable<unknown>): Corpus {
  return new LazyCorpus(values);
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
  if (rest.includes('://')) rest = takeLiterals(rest, URL_TEXT, out);
  if (rest.includes('@')) rest = takeLiterals(rest, EMAIL, out);
  if (rest.includes('"') || rest.includes('“')) rest = takeLiterals(rest, QUOTED, out);
  for (const n of extractNumbers(rest)) addUnique(out, n);
  if (!HAS_DIGIT.test(rest)) return out;
  const tokens = ASCII.test(rest) ? ASCII_TOKEN : TOKEN;
  tokens.lastIndex = 0;
  for (let match = tokens.exec(rest); match !== null; match = tokens.exec(rest)) {
    const token = match[0].replace(/[-./:#]+$/u, '');
    if (HAS_DIGIT.test(token) && !NUMBER_TOKEN.test(token)) addUnique(out, token);
  }
  return out;
}

function addUnique(out: (string | number)[], literal: string | number): void {
  if (!out.includes(literal)) out.push(literal);
}

/** Collects the matches of a global pattern (group 1 or 2 when it has them) and blanks them out of the text. */
function takeLiterals(text: string, pattern: RegExp, out: (string | number)[]): string {
  for (const match of text.matchAll(pattern)) {
    const literal = match[1] ?? match[2] ?? match[0];
    addUnique(out, literal.replace(/[.,;:!?)]+$/u, ''));
  }
  return text.replace(pattern, ' ');
}
