import type { Impact } from '@warden/contracts';
import type { z } from 'zod';
import { ToolDefinitionError, defineTool, type ToolSpec } from './spec.js';

/** How much harm a tool can do, from read-only lookups to moving money. */
export const RiskTiers = ['low', 'medium', 'high', 'critical'] as const;
/** A risk tier. */
export type RiskTier = (typeof RiskTiers)[number];

/** The logging a tool may do: a structural subset of a pino logger, so this package needs no logger dependency. */
export interface ToolLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a tool's run() gets besides its arguments. */
export interface ToolRunContext {
  /**
   * The effect's idempotency key (`taskId:actionId`). A destructive tool records it with its effect so that verify()
   * can tell afterwards whether the effect happened, and so that running it twice changes nothing more.
   */
  readonly idempotencyKey: string;
  /** Aborted at the tool's timeout (or when the executor stops): the tool must stop its I/O and reject. */
  readonly signal: AbortSignal;
  readonly logger: ToolLogger;
}

/** What verify() found about an effect that was dispatched but whose outcome was never recorded. */
export type VerifyOutcome =
  | { readonly status: 'applied'; readonly output: unknown }
  | { readonly status: 'not_applied' }
  | { readonly status: 'unknown'; readonly reason: string };

/**
 * A tool the executor can run: its spec (name, description, schemas, resources), a risk tier, a dry-run impact
 * estimate, run() and, for tools whose effect can be looked up afterwards, verify().
 */
export interface RunnableTool<A = unknown, O = unknown> {
  readonly spec: ToolSpec;
  readonly riskTier: RiskTier;
  /** Per-tool call timeout; the executor's default applies when absent. */
  readonly timeoutMs?: number;
  /** Dry run: what the call would touch (rows, files, recipients, money) without changing anything. */
  estimateImpact(args: A, ctx: { readonly signal: AbortSignal }): Promise<Impact>;
  /** Runs the call. Rejects on failure; must honour ctx.signal. */
  run(args: A, ctx: ToolRunContext): Promise<O>;
  /** Looks up whether the effect under `idempotencyKey` happened (after a crash between dispatch and commit). */
  verify?(args: A, ctx: { readonly idempotencyKey: string; readonly signal: AbortSignal }): Promise<VerifyOutcome>;
}

/** The tool's name (its spec's). */
export const toolName = (tool: RunnableTool): string => tool.spec.name;

/**
 * Checks a runnable tool (its spec as defineTool does; an output schema is required so every result is validated)
 * and returns it unchanged. The argument type follows the spec's schema.
 */
export function defineRunnableTool<S extends ToolSpec, O>(
  tool: RunnableTool<z.infer<S['argsSchema']>, O> & { readonly spec: S },
): RunnableTool<z.infer<S['argsSchema']>, O> & { readonly spec: S } {
  defineTool(tool.spec);
  if (tool.spec.outputSchema === undefined) {
    throw new ToolDefinitionError(`tool ${tool.spec.name}: a runnable tool needs an output schema`);
  }
  if (tool.timeoutMs !== undefined && !(Number.isInteger(tool.timeoutMs) && tool.timeoutMs > 0)) {
    throw new ToolDefinitionError(`tool ${tool.spec.name}: timeoutMs must be a positive integer`);
  }
  return tool;
}

/** Runnable tools by name. */
export type RunnableToolRegistry = ReadonlyMap<string, RunnableTool>;

/** A registry of runnable tools; throws a ToolDefinitionError on a duplicate name. */
export function createRunnableToolRegistry(tools: readonly RunnableTool[]): RunnableToolRegistry {
  const registry = new Map<string, RunnableTool>();
  for (const tool of tools) {
    if (registry.has(tool.spec.name)) throw new ToolDefinitionError(`tool ${tool.spec.name} is defined twice`);
    registry.set(tool.spec.name, tool);
  }
  return registry;
}
