/**
 * Personal data in tool results (ADR 0026): which fields of a tool's output belong to a data subject, and sealing
 * them with the subject's key (or the tenant's) before the result is written to the log, so that erasing the key
 * erases them from every copy of the log while the chain still verifies.
 */
import { isSealed, sealValue, type JsonValue, type SubjectKeyStore } from '@warden/contracts';

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

async function sealMatches(value: JsonValue, options: SealingOptions): Promise<JsonValue> {
  if (typeof value === 'string') {
    return options.patterns.some((p) => p.test(value))
      ? sealValue(options.keys, subjectKeyId(options.tenantId, null, 'tenant'), value)
      : value;
  }
  if (isSealed(value)) return value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => sealMatches(v, options)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await sealMatches(v, options);
    return out;
  }
  return value;
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
