import fc from 'fast-check';

/*
 * fast-check values that satisfy a draft-07 JSON Schema, for the subset zod writes (types, properties, required,
 * additionalProperties, propertyNames, anyOf, const, enum, $ref to definitions, pattern, lengths, bounds, item
 * counts). String lengths are in code points, as JSON Schema and zod count them. An unknown keyword
 * fails loudly, so that a new kind of schema never passes by generating nothing.
 */

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$ref',
  'title',
  'description',
  'definitions',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'anyOf',
  'allOf',
  'const',
  'enum',
  'default',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'items',
  'minItems',
  'maxItems',
]);

/** Beyond this depth of $ref, recursive values (the JSON value type) stop growing. */
const MAX_REF_DEPTH = 3;

function num(schema: Schema, key: string): number | undefined {
  const v = schema[key];
  return typeof v === 'number' ? v : undefined;
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const min = num(schema, 'minLength') ?? 0;
  const max = num(schema, 'maxLength') ?? Number.POSITIVE_INFINITY;
  // For these two formats fast-check's own generators are quicker than walking zod's long patterns.
  const base =
    schema.format === 'uuid'
      ? fc.uuid()
      : schema.format === 'date-time'
        ? fc
            .date({ noInvalidDate: true, min: new Date(0), max: new Date('9999-12-31T23:59:59Z') })
            .map((d) => d.toISOString())
        : typeof schema.pattern === 'string'
          ? fc.stringMatching(new RegExp(schema.pattern))
          : fc.string({ unit: 'binary', minLength: min, maxLength: Math.min(max, min + 30) });
  return base.filter((s) => {
    const length = [...s].length;
    return length >= min && length <= max;
  });
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = num(schema, 'minimum') ?? num(schema, 'exclusiveMinimum');
  const max = num(schema, 'maximum') ?? num(schema, 'exclusiveMaximum');
  const exMin = num(schema, 'exclusiveMinimum');
  const exMax = num(schema, 'exclusiveMaximum');
  const base = integer
    ? fc.integer({
        min: Math.max(min ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
        max: Math.min(max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      })
    : fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        ...(min === undefined ? {} : { min }),
        ...(max === undefined ? {} : { max }),
      });
  return base.filter((n) => (exMin === undefined || n > exMin) && (exMax === undefined || n < exMax));
}

function typed(type: string, schema: Schema, root: Schema, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return stringArbitrary(schema);
    case 'number':
      return numberArbitrary(schema, false);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = schema.items as Schema | undefined;
      const minLength = num(schema, 'minItems') ?? 0;
      const cap = depth > MAX_REF_DEPTH ? minLength : minLength + 3;
      return fc.array(items === undefined ? fc.jsonValue() : arbitraryOf(items, root, depth), {
        minLength,
        maxLength: Math.min(num(schema, 'maxItems') ?? cap, cap),
      });
    }
    case 'object':
      return objectArbitrary(schema, root, depth);
    default:
      throw new Error(`json-schema-arbitrary: type ${type} is not supported`);
  }
}

function objectArbitrary(schema: Schema, root: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = (schema.required ?? []) as string[];
  const fixed = fc.record(
    Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, arbitraryOf(s, root, depth)])),
    { requiredKeys: required, noNullPrototype: true },
  );
  const extra = schema.additionalProperties;
  if (extra === false || extra === undefined || Object.keys(properties).length > 0) {
    if (typeof extra === 'object' && Object.keys(properties).length > 0) {
      throw new Error('json-schema-arbitrary: properties with a schema for additional ones are not supported');
    }
    return fixed;
  }
  const keys =
    schema.propertyNames === undefined
      ? fc.string()
      : (arbitraryOf(schema.propertyNames as Schema, root, depth) as fc.Arbitrary<string>);
  const values = extra === true ? fc.jsonValue() : arbitraryOf(extra as Schema, root, depth);
  // No "__proto__" member: the compiled validators refuse it on purpose (zod would change such a value).
  return fc.dictionary(
    keys.filter((k) => k !== '__proto__'),
    values,
    { maxKeys: depth > MAX_REF_DEPTH ? 0 : 3, noNullPrototype: true },
  );
}

/** An arbitrary of values valid against `schema` (a node of `root`, whose definitions $ref names). */
export function arbitraryOf(schema: Schema, root: Schema, depth = 0): fc.Arbitrary<unknown> {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new Error(`json-schema-arbitrary: keyword ${key} is not supported`);
  }
  if (typeof schema.$ref === 'string') {
    const name = /^#\/definitions\/(.+)$/.exec(schema.$ref)?.[1];
    const target = name === undefined ? undefined : (root.definitions as Record<string, Schema> | undefined)?.[name];
    if (target === undefined) throw new Error(`json-schema-arbitrary: cannot resolve ${schema.$ref}`);
    return fc.constant(null).chain(() => arbitraryOf(target, root, depth + 1));
  }
  if (Array.isArray(schema.allOf)) {
    // zod writes allOf only to wrap a single $ref (a reused schema with its own metadata).
    const [only, ...rest] = schema.allOf as Schema[];
    if (only === undefined || rest.length > 0 || 'type' in schema) {
      throw new Error('json-schema-arbitrary: only an allOf of one schema is supported');
    }
    return arbitraryOf(only, root, depth);
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (Array.isArray(schema.anyOf))
    return fc.oneof(...(schema.anyOf as Schema[]).map((s) => arbitraryOf(s, root, depth)));
  const type = schema.type;
  if (Array.isArray(type)) return fc.oneof(...(type as string[]).map((t) => typed(t, schema, root, depth)));
  if (typeof type === 'string') return typed(type, schema, root, depth);
  return fc.jsonValue(); // {}: anything
}
