import { z } from 'zod';
import { Envelope, wireEventSchemas } from './envelope.js';
import { eventTypes, type EventType } from './events.js';

/** A JSON Schema document (draft-07). */
export type JsonSchemaDocument = Record<string, unknown>;

function generate(schema: z.ZodType, title: string): JsonSchemaDocument {
  const doc = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any', io: 'output' }) as JsonSchemaDocument;
  return { $schema: 'http://json-schema.org/draft-07/schema#', title, ...doc };
}

/** The draft-07 JSON Schema of one event type as it travels on the wire (registered in the schema registry). */
export function eventJsonSchema(type: EventType): JsonSchemaDocument {
  return generate(wireEventSchemas[type], `warden.${type}`);
}

/** The draft-07 JSON Schema of the envelope, data untyped. */
export function envelopeJsonSchema(): JsonSchemaDocument {
  return generate(Envelope, 'warden.Envelope');
}

/** Every generated schema by file name: Envelope.json and one `<Type>.json` per event type. */
export function allJsonSchemas(): Map<string, JsonSchemaDocument> {
  const out = new Map<string, JsonSchemaDocument>([['Envelope.json', envelopeJsonSchema()]]);
  for (const type of eventTypes) out.set(`${type}.json`, eventJsonSchema(type));
  return out;
}

/** The text a schema file holds: two-space JSON and a final newline. */
export function schemaFileText(doc: JsonSchemaDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
