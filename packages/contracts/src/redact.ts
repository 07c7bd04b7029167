/** A named secret pattern. Matches are replaced by `[REDACTED:<name>]`. */
export interface SecretPattern {
  readonly name: string;
  readonly pattern: RegExp;
}

/**
 * Patterns redacted by default: provider API keys, cloud keys, private keys, bearer tokens, JWTs and
 * `password=...`-style assignments.
 */
export const defaultSecretPatterns: readonly SecretPattern[] = [
  { name: 'openai_key', pattern: /\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}/g },
  { name: 'aws_access_key', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { name: 'github_token', pattern: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g },
  { name: 'slack_token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  { name: 'private_key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g },
  { name: 'bearer_token', pattern: /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  {
    name: 'assignment',
    pattern:
      /\b(password|passwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)(\s*[:=]\s*)(?!\[REDACTED)("[^"]*"|'[^']*'|[^\s,;]+)/gi,
  },
];

/** Object keys whose values are always redacted, whatever they hold. */
export const defaultSecretKeys: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'apikey',
  'api_key',
  'accesstoken',
  'access_token',
  'clientsecret',
  'client_secret',
  'authorization',
  'privatekey',
  'private_key',
];

/** Options of a Redactor. */
export interface RedactorOptions {
  /** Extra patterns on top of the defaults (e.g. from configuration). */
  readonly patterns?: readonly SecretPattern[];
  /** Extra object keys (case-insensitive) whose values are replaced. */
  readonly keys?: readonly string[];
  /** Literal secrets known to this process (its own API keys); any occurrence is redacted. */
  readonly literals?: readonly string[];
}

/** The result of redacting a value. */
export interface Redacted<T> {
  readonly value: T;
  /** How many secrets were replaced. */
  readonly count: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces configured secret patterns in every string of a JSON value, and the values of secret-named keys, before
 * anything is produced. Redaction is idempotent: redacting a redacted value changes nothing.
 */
export class Redactor {
  private readonly patterns: readonly SecretPattern[];
  private readonly keys: ReadonlySet<string>;
  /** One regex that matches wherever any pattern could: a cheap first test before the replacements. */
  private readonly any: RegExp;

  constructor(options: RedactorOptions = {}) {
    const literals = (options.literals ?? [])
      .filter((l) => l.length >= 8)
      .map((l, i) => ({ name: `literal_${i}`, pattern: new RegExp(escapeRegExp(l), 'g') }));
    this.patterns = [...literals, ...defaultSecretPatterns, ...(options.patterns ?? [])].map((p) => ({
      name: p.name,
      pattern: p.pattern.global ? p.pattern : new RegExp(p.pattern.source, `${p.pattern.flags}g`),
    }));
    this.keys = new Set([...defaultSecretKeys, ...(options.keys ?? [])].map((k) => k.toLowerCase()));
    const flags = new Set(this.patterns.flatMap((p) => [...p.pattern.flags]).filter((f) => f === 'i' || f === 's'));
    this.any = new RegExp(this.patterns.map((p) => `(?:${p.pattern.source})`).join('|'), [...flags].join(''));
  }

  /** Redacts one string. */
  redactString(text: string): Redacted<string> {
    if (!this.any.test(text)) return { value: text, count: 0 };
    let count = 0;
    let out = text;
    for (const { name, pattern } of this.patterns) {
      out = out.replace(pattern, (...args: unknown[]) => {
        count++;
        if (name === 'assignment') return `${String(args[1])}${String(args[2])}[REDACTED:${name}]`;
        return `[REDACTED:${name}]`;
      });
    }
    return { value: out, count };
  }

  /**
   * Redacts every string of a JSON value and every secret-named key's value. Returns a copy when something was
   * replaced, and the value itself (count 0) when nothing was: most values hold no secret, and copying each one is
   * a real share of a worker's time per event.
   */
  redact<T>(value: T): Redacted<T> {
    if (!this.holdsSecret(value)) return { value, count: 0 };
    let count = 0;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') {
        const r = this.redactString(v);
        count += r.count;
        return r.value;
      }
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, child] of Object.entries(v)) {
          if (this.isSecretEntry(k, child)) {
            count++;
            out[k] = '[REDACTED:key]';
          } else out[k] = walk(child);
        }
        return out;
      }
      return v;
    };
    const redacted = walk(value) as T;
    return { value: redacted, count };
  }

  /** A secret-named key holding a string not yet redacted. */
  private isSecretEntry(key: string, child: unknown): boolean {
    return typeof child === 'string' && this.keys.has(key.toLowerCase()) && !child.startsWith('[REDACTED');
  }

  /** True when redact() would replace something in `v`: a read-only walk, no copies. */
  private holdsSecret(v: unknown): boolean {
    if (typeof v === 'string') return this.any.test(v);
    if (typeof v !== 'object' || v === null) return false;
    if (Array.isArray(v)) {
      for (const item of v) if (this.holdsSecret(item)) return true;
      return false;
    }
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const child = (v as Record<string, unknown>)[k];
      if (this.isSecretEntry(k, child) || this.holdsSecret(child)) return true;
    }
    return false;
  }
}
