/**
 * Personal data in tool results (ADR 0026): which fields of a tool's output belong to a data subject, and sealing
 * them with the subject's key (or the tenant's) before the result is written to the log, so that erasing the key
 * erases them from every copy of the log while the chain still verifies.
 */
import {
  clipText,
  isSealed,
  sealValue,
  sealedTextPiece,
  sealedTextSegments,
  type JsonValue,
  type SubjectKeyStore,
} from '@warden/contracts';

/** Where a tool's output holds personal data: records, the field naming each record's subject, its personal fields. */
export interface PersonalDataDeclaration {
  /** The output key holding the array of records (e.g. "rows"). */
  readonly records: string;
  /** The field of a record that names its data subject (e.g. "id"). */
  readonly subjectField: string;
  /** The record's personal fields (e.g. name, email, phone). */
  readonly fields: readonly string[];
}

/** How results are sealed. */
export interface SealingOptions {
  readonly keys: SubjectKeyStore;
  readonly tenantId: string;
  /** One key per data subject (erasable one by one), or one per tenant. */
  readonly keyScope: 'subject' | 'tenant';
  /** Any other string in the output matching one of these is sealed with the tenant's key (e.g. e-mail addresses). */
  readonly patterns: readonly RegExp[];
}

/** The subject a key is kept under: tenant-scoped, so one tenant can never erase (or read) another's. */
export function subjectKeyId(tenantId: string, subject: string | null, scope: SealingOptions['keyScope']): string {
  return scope === 'tenant' || subject === null ? `tenant:${tenantId}` : `${tenantId}:${subject}`;
}

/** A JSON value with each of its strings (outside sealed values) replaced by what `seal` makes of it. */
async function sealStrings(value: JsonValue, seal: (text: string) => Promise<JsonValue>): Promise<JsonValue> {
  if (typeof value === 'string') return seal(value);
  if (isSealed(value)) return value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => sealStrings(v, seal)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await sealStrings(v, seal);
    return out;
  }
  return value;
}

/** Every string matching a pattern sealed whole under the tenant's key. */
function sealMatches(value: JsonValue, options: SealingOptions): Promise<JsonValue> {
  const tenant = subjectKeyId(options.tenantId, null, 'tenant');
  return sealStrings(value, async (text) =>
    options.patterns.some((p) => p.test(text)) ? sealValue(options.keys, tenant, text) : text,
  );
}

/**
 * The tool output with its declared personal fields sealed under each record's subject key, then every other string
 * matching a configured pattern sealed under the tenant's key. The output is not changed in place.
 */
export async function sealPersonalData(
  declaration: PersonalDataDeclaration | undefined,
  output: JsonValue,
  options: SealingOptions,
): Promise<JsonValue> {
  let sealed = output;
  const records =
    declaration !== undefined && typeof output === 'object' && output !== null && !Array.isArray(output)
      ? output[declaration.records]
      : undefined;
  if (declaration !== undefined && Array.isArray(records)) {
    const out: JsonValue[] = [];
    for (const record of records) {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        out.push(record);
        continue;
      }
      const id = record[declaration.subjectField];
      const subject = subjectKeyId(options.tenantId, typeof id === 'string' ? id : null, options.keyScope);
      const copy: Record<string, JsonValue> = { ...record };
      for (const field of declaration.fields) {
        const v = copy[field];
        if (v !== undefined && v !== null && !isSealed(v)) copy[field] = await sealValue(options.keys, subject, v);
      }
      out.push(copy);
    }
    sealed = { ...(output as Record<string, JsonValue>), [declaration.records]: out };
  }
  return options.patterns.length === 0 ? sealed : sealMatches(sealed, options);
}

/** The shortest clear value looked for in a model's output: shorter ones (initials, "Al") would seal common words. */
export const MIN_REPEATED_VALUE_CHARS = 3;

/**
 * The clear personal values a worker opened (ADR 0026), each with the subject it was sealed under: what a model shown
 * them may repeat in its output. `record` is an OnOpened for openSealed / openSealedInText.
 */
export class OpenedValues {
  /** Lower-cased value → its subject (the first one opened: one value of two subjects is sealed under the first). */
  private readonly subjects = new Map<string, string>();

  readonly record = (subject: string, clear: JsonValue): void => {
    if (typeof clear === 'string') {
      const v = clear.trim();
      if (v.length >= MIN_REPEATED_VALUE_CHARS && !this.subjects.has(v.toLowerCase())) {
        this.subjects.set(v.toLowerCase(), subject);
      }
    } else if (Array.isArray(clear)) for (const c of clear) this.record(subject, c);
    else if (typeof clear === 'object' && clear !== null) for (const c of Object.values(clear)) this.record(subject, c);
  };

  get size(): number {
    return this.subjects.size;
  }

  subjectOf(value: string): string | undefined {
    return this.subjects.get(value.toLowerCase());
  }

  /** One case-insensitive regex matching any of the values, longest first; undefined when there are none. */
  matcher(): RegExp | undefined {
    if (this.subjects.size === 0) return undefined;
    const values = [...this.subjects.keys()].sort((a, b) => b.length - a.length);
    return new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu');
  }
}

/** How a model's output is sealed: the values opened for it, and the tenant's patterns (SealingOptions'). */
export interface RepeatSealing {
  readonly keys: SubjectKeyStore;
  readonly tenantId: string;
  readonly opened: OpenedValues;
  readonly patterns: readonly RegExp[];
}

const globalOf = (p: RegExp): RegExp => new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`);

/**
 * A text (a model's answer, reasoning, argument) with each repetition of an opened value sealed in place under that
 * value's subject (sealedTextPiece), then each match of a pattern under the tenant's key. What is sealed already
 * stays as it is; a text with nothing to seal is returned unchanged.
 */
export async function sealRepeatedText(text: string, options: RepeatSealing): Promise<string> {
  const matchers: { re: RegExp; subject: (m: string) => string | undefined }[] = [];
  const values = options.opened.matcher();
  if (values !== undefined) matchers.push({ re: values, subject: (m) => options.opened.subjectOf(m) });
  const tenant = subjectKeyId(options.tenantId, null, 'tenant');
  for (const p of options.patterns) matchers.push({ re: globalOf(p), subject: () => tenant });
  if (matchers.length === 0) return text;
  let segments = sealedTextSegments(text).map((s) => ({ ...s }));
  for (const { re, subject } of matchers) {
    const next: { text: string; sealed: boolean }[] = [];
    for (const seg of segments) {
      if (seg.sealed) {
        next.push(seg);
        continue;
      }
      let at = 0;
      for (const m of seg.text.matchAll(re)) {
        const who = m[0] === '' ? undefined : subject(m[0]);
        if (who === undefined) continue;
        if (m.index > at) next.push({ text: seg.text.slice(at, m.index), sealed: false });
        next.push({ text: await sealedTextPiece(options.keys, who, m[0]), sealed: true });
        at = m.index + m[0].length;
      }
      if (at < seg.text.length) next.push({ text: seg.text.slice(at), sealed: false });
    }
    segments = next;
  }
  return segments.map((s) => s.text).join('');
}

/**
 * sealRepeatedText within `maxChars` (a field's limit): sealing lengthens a text, so one that no longer fits is cut
 * (before sealing, never through a sealed piece) until it does.
 */
export async function sealRepeatedTextWithin(text: string, options: RepeatSealing, maxChars: number): Promise<string> {
  let clear = text;
  for (;;) {
    const sealed = await sealRepeatedText(clear, options);
    if (sealed.length <= maxChars || clear.length === 0) return sealed;
    clear = clipText(clear, Math.max(0, clear.length - (sealed.length - maxChars) - 16));
  }
}

/** A JSON value (a model's tool arguments, an answer's output) with every string sealed as sealRepeatedText does. */
export function sealRepeated(value: JsonValue, options: RepeatSealing): Promise<JsonValue> {
  return sealStrings(value, (text) => sealRepeatedText(text, options));
}
