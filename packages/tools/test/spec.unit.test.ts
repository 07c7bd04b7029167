import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ToolDefinitionError,
  createToolRegistry,
  customersQuery,
  defineTool,
  demoTools,
  parseArgPath,
  toolParametersJsonSchema,
} from '@warden/tools';

describe('tool specs', () => {
  it('parses arg paths and refuses malformed ones', () => {
    expect(parseArgPath('to.*')).toEqual(['to', '*']);
    expect(parseArgPath('set.email')).toEqual(['set', 'email']);
    expect(parseArgPath('a..b')).toBeNull();
    expect(parseArgPath('a b')).toBeNull();
  });

  it('refuses a malformed definition and a duplicate name', () => {
    expect(() => defineTool({ ...customersQuery, name: ' bad' })).toThrow(ToolDefinitionError);
    expect(() => defineTool({ ...customersQuery, resources: { paths: ['x..y'] } })).toThrow(/resources.paths/);
    expect(() => createToolRegistry([customersQuery, customersQuery])).toThrow(/defined twice/);
  });

  it('gives every demo tool a JSON Schema for the model, without $schema', () => {
    expect(demoTools.size).toBeGreaterThanOrEqual(9);
    for (const tool of demoTools.values()) {
      const schema = toolParametersJsonSchema(tool);
      expect(schema.type, tool.name).toBe('object');
      expect(schema).not.toHaveProperty('$schema');
      expect(tool.description.length).toBeGreaterThan(0);
    }
    const custom = defineTool({
      name: 'x.y',
      description: 'd',
      destructive: false,
      riskTier: 'low',
      argsSchema: z.object({ n: z.number().int().min(1) }).strict(),
      resources: {},
      criticalFields: [],
    });
    expect(toolParametersJsonSchema(custom)).toMatchObject({
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1 } },
      required: ['n'],
      additionalProperties: false,
    });
  });
});
