import { isIdentifier, type JsonObject, type JsonValue } from '@warden/contracts';
import { z } from 'zod';
import { ToolDefinitionError } from './errors.js';
import type { PersonalDataDeclaration } from './personal-data.js';

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

/**
 * One succeeded effect of a tool, as the audit log records it: the args the executor ran (the approved ones), the
 * validated result and the effect key (`taskId:actionId`). What a compensation is planned from.
 */
export interface RecordedEffect<A = JsonObject> {
  /** The args as the tool's argsSchema parsed them. */
  readonly args: A;
  readonly result: JsonValue;
  readonly effectKey: string;
}

/** The call that undoes one effect: a tool and its args, proposed and guarded like any action. */
export interface CompensatingCall {
  readonly tool: string;
  readonly args: JsonObject;
}

/**
 * Whether and how a destructive tool's effect can be undone (ADR 0026). `compensable`: `compensate` turns a recorded
 * effect into the call that undoes it, or null when the effect changed nothing (nothing to undo). `irreversible`:
 * nothing can undo it (money moved, a message sent); a rollback lists it with the reason, never skips it silently.
 * A destructive tool that declares neither is treated as irreversible.
 */
export type Compensation<A = JsonObject> =
  | {
      readonly kind: 'compensable';
      /** Pure: the call that undoes the effect, from what the log recorded of it; throws on a malformed record. */
      compensate(effect: RecordedEffect<A>): CompensatingCall | null;
    }
  | { readonly kind: 'irreversible'; readonly reason: string };

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
  /**
   * How a destructive call is undone, or why it cannot be (ADR 0026); a read-only tool needs none. Typed over the
   * tool's parsed args in its definition; call it through `compensationOf`, which parses them first.
   */
  readonly compensation?: Compensation<never>;
  /** Which fields of the output are personal data, sealed with their subject's key before the log (ADR 0026). */
  readonly personalData?: PersonalDataDeclaration;
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
