import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';

/*
 * zod is the authority on what an event is: it names the exact field of a problem and applies defaults. It is also
 * the largest share of a worker's CPU time per event, and it copies every value it parses (ADR 0011). On the hot
 * path almost every event is valid and already in zod's output form, so a compiled JSON Schema validator (Ajv)
 * answers first, on the value as it is. It may only ever say yes when zod would accept the value and return it
 * unchanged; anything else goes to zod. So a schema is compiled only when its JSON Schema says exactly what zod
 * checks, and the Ajv options below match zod's reading of strings, numbers and patterns.
 */

/** zod node types whose output-mode JSON Schema checks exactly what zod checks. */
const EXACT_TYPES = new Set([
  'string',
  'number',
  'boolean',
  'null',
  'literal',
  'enum',
  'object',
  'array',
  'record',
  'union',
  'optional',
  'nullable',
  'default',
  'lazy',
  'unknown',
]);

/** zod checks with an exact JSON Schema keyword (string formats only with a flag-less pattern: see below). */
const EXACT_CHECKS = new Set([
  'less_than',
  'greater_than',
  'multiple_of',
  'number_format',
  'max_length',
  'min_length',
  'length_equals',
  'max_size',
  'min_size',
  'size_equals',
]);

interface ZodDef {
  readonly type: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly check?: string;
  readonly checks?: ReadonlyArray<{ readonly _zod: { readonly def: ZodDef } }>;
}

/** A pattern keeps its meaning in JSON Schema only without flags (JSON Schema has none). */
function patternProblem(def: ZodDef, what: string): string | undefined {
  if (def.pattern === undefined) return `${what} has no pattern`;
  if (def.pattern.flags !== '') return `${what} has regex flags /${def.pattern.flags}`;
  return undefined;
}

/** Why one zod node's JSON Schema would not check exactly what zod checks; undefined when it would. */
function nodeProblem(def: ZodDef): string | undefined {
  if (!EXACT_TYPES.has(def.type)) return `a ${def.type} schema`;
  if (def.type === 'string' && def.format !== undefined) {
    const problem = patternProblem(def, `string format ${def.format}`);
    if (problem !== undefined) return problem;
  }
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'string_format') {
      const problem = patternProblem(c, `string format ${c.format ?? '?'}`);
      if (problem !== undefined) return problem;
    } else if (!EXACT_CHECKS.has(c.check ?? '')) return `a ${c.check ?? 'custom'} check`;
  }
  return undefined;
}

/**
 * The draft-07 JSON Schema of a zod schema's output, and the problems that keep it from checking exactly what zod
 * checks (refinements, transforms, flagged patterns, ...). No problems means: a value the JSON Schema accepts, zod
 * accepts and returns equal.
 */
export function exactJsonSchema(schema: z.ZodType): { schema: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, {
      target: 'draft-7',
      io: 'output',
      unrepresentable: 'throw',
      override: ({ zodSchema, path }) => {
        const problem = nodeProblem((zodSchema as unknown as { _zod: { def: ZodDef } })._zod.def);
        if (problem !== undefined) problems.push(`${path.join('.') || '(root)'}: ${problem}`);
      },
    });
  } catch (error) {
    return { schema: {}, problems: [`not representable: ${(error as Error).message}`] };
  }
  return { schema: json, problems };
}

/**
 * Compiled validators for a set of zod schemas, each compiled on first use. `accepts(key, value)` is true only when
 * zod would accept `value` and return it unchanged; false means "ask zod", never "invalid".
 */
export class ExactValidators<K extends string> {
  private readonly compiled = new Map<K, ValidateFunction | null>();
  private readonly ajv = new Ajv({
    // Patterns are zod's own regexes, which are flag-less: compile them without the `u` flag, as zod runs them.
    unicodeRegExp: false,
    // (String lengths need no option: Ajv counts code points by default, as zod does.)
    // zod refuses NaN and Infinity.
    strictNumbers: true,
    // Every format zod writes also comes as its pattern, which is what zod checks; the format names are notes.
    validateFormats: false,
    allErrors: false,
    strict: false,
  });

  constructor(private readonly schemas: Readonly<Record<K, z.ZodType>>) {}

  /** True when zod would accept `value` as `key` and return it unchanged. */
  accepts(key: K, value: unknown): boolean {
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      validate = this.compile(key);
      this.compiled.set(key, validate);
    }
    return validate !== null && validate(value);
  }

  /** Keys whose schema has no exact JSON Schema (always answered by zod), with the reasons. */
  inexact(): Map<K, string[]> {
    const out = new Map<K, string[]>();
    for (const key of Object.keys(this.schemas) as K[]) {
      const { problems } = exactJsonSchema(this.schemas[key]);
      if (problems.length > 0) out.set(key, problems);
    }
    return out;
  }

  private compile(key: K): ValidateFunction | null {
    const { schema, problems } = exactJsonSchema(this.schemas[key]);
    if (problems.length > 0) return null;
    const { $schema: _ignored, ...body } = schema;
    return this.ajv.compile(refusingProtoKeys(body));
  }
}

const NOT_PROTO = { not: { const: '__proto__' } };

/**
 * The schema with every open-keyed object (a record) refusing a "__proto__" member. JSON.parse makes it an own
 * member like any other, but zod's parse assigns it, which sets the output's prototype instead: zod changes such a
 * value, so only zod may answer for it.
 */
function refusingProtoKeys(node: unknown): Record<string, unknown> {
  if (Array.isArray(node)) return node.map(refusingProtoKeys) as never;
  if (typeof node !== 'object' || node === null) return node as never;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'const' || k === 'enum' ? v : refusingProtoKeys(v);
  const open = typeof out.additionalProperties === 'object' || out.propertyNames !== undefined;
  if (open) out.propertyNames = out.propertyNames === undefined ? NOT_PROTO : { allOf: [out.propertyNames, NOT_PROTO] };
  return out;
}
