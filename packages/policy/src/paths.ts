/**
 * Arg paths ("collection", "to.*", "set.email") and JSON pointers (RFC 6901), resolved over own properties only so
 * that a key such as "__proto__" or "constructor" never reaches Object.prototype.
 */

import type { ArgPath } from '@warden/tools';
export { parseArgPath, type ArgPath } from '@warden/tools';

/** A value found at an arg path, with where it was ("to[1]", "set.email"). */
export interface Located {
  /** Where the value is, relative to args. */
  readonly where: string;
  /** The value. */
  readonly value: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function childWhere(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  return prefix === '' ? key : `${prefix}.${key}`;
}

/** Every value at `path` in `root` (none when the path does not exist). */
export function valuesAt(root: unknown, path: ArgPath): Located[] {
  let level: Located[] = [{ where: '', value: root }];
  for (const segment of path) {
    const next: Located[] = [];
    for (const { where, value } of level) {
      if (segment === '*') {
        if (Array.isArray(value))
          value.forEach((v: unknown, i) => next.push({ where: childWhere(where, i), value: v }));
        else if (isRecord(value))
          for (const k of Object.keys(value)) next.push({ where: childWhere(where, k), value: value[k] });
      } else if (Array.isArray(value) && /^(?:0|[1-9]\d*)$/.test(segment)) {
        const i = Number(segment);
        if (i < value.length) next.push({ where: childWhere(where, i), value: value[i] });
      } else if (isRecord(value) && Object.hasOwn(value, segment)) {
        next.push({ where: childWhere(where, segment), value: value[segment] });
      }
    }
    level = next;
  }
  return level;
}

/** Resolves an RFC 6901 JSON pointer ("" is the root). */
export function resolvePointer(root: unknown, pointer: string): { found: true; value: unknown } | { found: false } {
  if (pointer === '') return { found: true, value: root };
  if (!pointer.startsWith('/')) return { found: false };
  let value: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      if (!/^(?:0|[1-9]\d*)$/.test(key)) return { found: false };
      const i = Number(key);
      if (i >= value.length) return { found: false };
      value = value[i];
    } else if (isRecord(value) && Object.hasOwn(value, key)) {
      value = value[key];
    } else {
      return { found: false };
    }
  }
  return { found: true, value };
}
