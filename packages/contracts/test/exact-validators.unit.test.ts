import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventSchemas, eventTypes, isExactEvent, newTask, validateEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { ExactValidators, exactJsonSchema } from '../src/exact-validators.js';
import { arbitraryOf } from './json-schema-arbitrary.js';

/** A value with one node replaced, removed or given an extra key: most are invalid, some are not. */
function mutated(value: unknown, pick: number, kind: number, replacement: unknown): unknown {
  const copy = structuredClone(value);
  const nodes: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((child, i) => (nodes.push({ parent: v, key: i }), walk(child)));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: k });
        walk(child);
      }
    }
  };
  walk(copy);
  const node = nodes[pick % Math.max(nodes.length, 1)];
  if (node === undefined) return replacement;
  const parent = node.parent as Record<string | number, unknown>;
  if (kind === 0) parent[node.key] = replacement;
  else if (kind === 1 && !Array.isArray(parent)) delete parent[node.key];
  else if (kind === 2) {
    const target = parent[node.key];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
      (target as Record<string, unknown>).extra = replacement;
    } else parent[node.key] = replacement;
  } else parent[node.key] = typeof parent[node.key] === 'string' ? `${String(parent[node.key])}\u{1F600}` : -1.5;
  return copy;
}

/** What the fast path promises: whenever it says yes, zod agrees and returns the value unchanged. */
function expectZodAgrees(schema: z.ZodType, value: unknown): void {
  const parsed = schema.safeParse(value);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  expect(parsed.data).toStrictEqual(value);
}

describe('exact validators (the compiled fast path before zod)', () => {
  const exact = new ExactValidators(eventSchemas);

  it('cover every event type: each schema has an exact JSON Schema', () => {
    expect([...exact.inexact()]).toEqual([]);
  });

  it.each(eventTypes)('%s: accept every value its JSON Schema allows, and zod returns each unchanged', (type) => {
    const { schema } = exactJsonSchema(eventSchemas[type]);
    fc.assert(
      fc.property(arbitraryOf(schema, schema), (value) => {
        expect(exact.accepts(type, value)).toBe(true);
        expectZodAgrees(eventSchemas[type], value);
      }),
      { numRuns: 100 },
    );
  });

  it.each(eventTypes)('%s: never accept a changed value that zod refuses or would change', (type) => {
    const { schema } = exactJsonSchema(eventSchemas[type]);
    fc.assert(
      fc.property(
        arbitraryOf(schema, schema),
        fc.nat(),
        fc.integer({ min: 0, max: 3 }),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.constantFrom(undefined, Number.NaN, Infinity, 1e300, '', 'x'.repeat(300)),
        ),
        (value, pick, kind, replacement) => {
          const changed = mutated(value, pick, kind, replacement);
          if (exact.accepts(type, changed)) expectZodAgrees(eventSchemas[type], changed);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('leave defaults to zod: a task without its defaulted fields goes the slow way and gets them', () => {
    const task = newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' });
    const resources = { ...task.data.scope.resources } as Record<string, unknown>;
    delete resources.paths;
    const withoutDefault = { ...task, data: { ...task.data, scope: { ...task.data.scope, resources } } };
    expect(isExactEvent('TaskSubmitted', withoutDefault)).toBe(false);
    const event = validateEvent(withoutDefault);
    expect(event.type === 'TaskSubmitted' && event.data.scope.resources.paths).toEqual([]);
  });

  it('count string lengths in code points, as zod does', () => {
    const parsed = validateEvent(newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' }));
    // The producer field holds at most 200. 200 emoji are 400 UTF-16 units but 200 code points.
    const fits = { ...parsed, producer: '\u{1F600}'.repeat(200) };
    const over = { ...parsed, producer: '\u{1F600}'.repeat(201) };
    expect(isExactEvent('TaskSubmitted', fits)).toBe(true);
    expect(eventSchemas.TaskSubmitted.safeParse(fits).success).toBe(true);
    expect(isExactEvent('TaskSubmitted', over)).toBe(false);
    expect(eventSchemas.TaskSubmitted.safeParse(over).success).toBe(false);
  });

  it('leave a "__proto__" member to zod, which does not keep it as a member', () => {
    const task = newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' });
    const approval = JSON.parse(
      JSON.stringify({
        ...task,
        type: 'HumanApproved',
        data: {
          escalationId: 'e-1',
          actionId: 'a-1',
          decidedBy: { id: 'u-1', kind: 'user' },
          argsHash: 'a'.repeat(64),
          policyVersion: 'p1',
          expiresAt: task.occurredAt,
          comment: '',
          tool: 'customers.update',
          args: { plain: 1 },
        },
      }).replace('"plain":1', '"plain":1,"__proto__":{"admin":true}'),
    ) as Record<string, unknown>;
    expect(Object.keys((approval.data as { args: object }).args)).toEqual(['plain', '__proto__']);
    expect(isExactEvent('HumanApproved', approval)).toBe(false);
    approval.data = { ...(approval.data as object), args: { plain: 1 } };
    expect(isExactEvent('HumanApproved', approval)).toBe(true);
  });

  it('refuse to compile a schema zod checks beyond its JSON Schema', () => {
    const refined = z.object({ n: z.number() }).refine((v) => v.n % 2 === 0);
    const transformed = z.object({ s: z.string().transform((s) => s.trim()) });
    const flagged = z.object({ s: z.string().regex(/^a+$/i) });
    const trimmed = z.object({ s: z.string().trim() });
    const fast = new ExactValidators({ refined, transformed, flagged, trimmed });
    expect([...fast.inexact().keys()].sort()).toEqual(['flagged', 'refined', 'transformed', 'trimmed']);
    expect(fast.accepts('refined', { n: 3 })).toBe(false);
    expect(fast.accepts('flagged', { s: 'A' })).toBe(false);
    expect(fast.accepts('trimmed', { s: ' a ' })).toBe(false);
  });
});
