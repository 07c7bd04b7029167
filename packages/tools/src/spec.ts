import { isIdentifier } from '@warden/contracts';
import { z } from 'zod';
import { ToolDefinitionError } from './errors.js';

/** The kinds of resource a scope names (the same list as the contracts' Scope). */
export const ResourceKindNames = ['collections', 'paths', 'hosts', 'recipients'] as const;
/** A kind of resource. */
export type ResourceKind = (typeof ResourceKindNames)[number];

/**
 * How much harm a tool can do, from read-only lookups to moving money. The guard's confidence threshold for a call
 * is the policy's threshold for its tool's tier.
 */
export const RiskTiers = ['low', 'medium', 'high', 'critical'] as const;
/** A risk tier. */
export type RiskTier = (typeof RiskTiers)[number];

/** A parsed arg path: keys, with "*" for every element of an array or every value of an object. */
export type ArgPath = readonly string[];

const SEGMENT = /^(?:\*|[A-Za-z0-9_$-]+)$/;

/** Parses "a.b.*" into ["a", "b", "*"]; null when a segment is empty or has other characters. */
export function parseArgPath(path: string): ArgPath | null {
  const segments = path.split('.');
  return segments.every((s) => SEGMENT.test(s)) ? segments : null;
}

/**
 * A tool as the code defines it: what the model is told (name, description, argument JSON Schema), what the guard
 * checks (argument schema, resources, critical fields, destructive) and what the executor validates (output).
 */
export interface ToolSpec {
  /** Tool name, e.g. "customers.delete". */
  readonly name: string;
  /** One line for people and for the model. */
  readonly description: string;
  /** True when the tool changes the world (writes, deletes, sends, pays): it must declare its impact. */
  readonly destructive: boolean;
  /** How much harm a call can do; the guard picks the call's confidence threshold by it. The only source of it. */
  readonly riskTier: RiskTier;
  /** Zod schema of the arguments. Must not transform: the guard checks the args exactly as the executor runs them. */
  readonly argsSchema: z.ZodType;
  /** Zod schema of the tool's result, checked before a result reaches the model. */
  readonly outputSchema?: z.ZodType;
  /** Arg paths (dot separated, `*` for every element) holding resources of each kind. */
  readonly resources: Readonly<Partial<Record<ResourceKind, readonly string[]>>>;
  /** Arg paths whose literal values (ids, amounts, addresses, paths) must be grounded. */
  readonly criticalFields: readonly string[];
  /**
   * Whether the tool's output is authority or data. "trusted": what Warden's own stores and ground truth say
   * (a customer record, a knowledge-base fact, the outcome of an effect). "untrusted" (the default, fail closed):
   * text a third party wrote (files, web pages, e-mails, search results), which is data, never authority: a critical
   * field supported only by it escalates.
   */
  readonly outputTrust?: 'trusted' | 'untrusted';
}

/** The tools the code knows, by name. */
export type ToolRegistry = ReadonlyMap<string, ToolSpec>;

/**
 * Checks a tool definition (name, risk tier, resource and critical-field paths) and returns it unchanged. Throws a
 * ToolDefinitionError on a malformed path: a path that never resolves would silently check nothing.
 */
export function defineTool<T extends ToolSpec>(spec: T): T {
  if (!isIdentifier(spec.name)) {
    throw new ToolDefinitionError(`tool name ${JSON.stringify(spec.name)} is not an identifier`);
  }
  if (!(RiskTiers as readonly string[]).includes(spec.riskTier)) {
    throw new ToolDefinitionError(`tool ${spec.name}: riskTier must be one of ${RiskTiers.join(', ')}`);
  }
  for (const [kind, paths] of Object.entries(spec.resources)) {
    if (!(ResourceKindNames as readonly string[]).includes(kind)) {
      throw new ToolDefinitionError(`tool ${spec.name}: unknown resource kind ${JSON.stringify(kind)}`);
    }
    for (const path of paths ?? []) {
      if (parseArgPath(path) === null) {
        throw new ToolDefinitionError(
          `tool ${spec.name}: resources.${kind} has a malformed arg path ${JSON.stringify(path)}`,
        );
      }
    }
  }
  for (const path of spec.criticalFields) {
    if (parseArgPath(path) === null) {
      throw new ToolDefinitionError(
        `tool ${spec.name}: criticalFields has a malformed arg path ${JSON.stringify(path)}`,
      );
    }
  }
  return spec;
}

/** A registry of tools by name; throws a ToolDefinitionError on a malformed tool or a duplicate name. */
export function createToolRegistry<T extends ToolSpec>(tools: readonly T[]): ReadonlyMap<string, T> {
  const registry = new Map<string, T>();
  for (const tool of tools) {
    defineTool(tool);
    if (registry.has(tool.name)) throw new ToolDefinitionError(`tool ${tool.name} is defined twice`);
    registry.set(tool.name, tool);
  }
  return registry;
}

/**
 * The JSON Schema of a tool's arguments, as a model's function-calling API expects it (draft-07 object, no
 * $schema key).
 */
export function toolParametersJsonSchema(tool: ToolSpec): Record<string, unknown> {
  const doc = z.toJSONSchema(tool.argsSchema, { target: 'draft-7', unrepresentable: 'any', io: 'input' }) as Record<
    string,
    unknown
  >;
  const { $schema: _ignored, ...rest } = doc;
  return rest;
}
