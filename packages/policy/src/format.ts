import { clipText } from '@warden/contracts';
import type { z } from 'zod';

/** The longest detail a RuleEvaluation may carry (the contracts' limit). */
export const MAX_DETAIL_CHARS = 2_000;

/** Cuts `text` to `max` characters, marking the cut. */
export function truncate(text: string, max = MAX_DETAIL_CHARS): string {
  return clipText(text, max);
}

/** A value as it appears in a detail: strings as-is (cut at 120 characters), others as JSON. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return truncate(text, 120);
}

/** "args.to[1]" from a prefix and a zod issue path. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Every zod issue as "path: message", joined with "; ". */
export function formatZodError(prefix: string, error: z.ZodError): string {
  return truncate(error.issues.map((i) => `${formatPath(prefix, i.path) || '(root)'}: ${i.message}`).join('; '));
}
