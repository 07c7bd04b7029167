import type { Impact } from '@warden/contracts';
import type { z } from 'zod';
import { ToolDefinitionError, ToolRefusedError } from './errors.js';
import { createToolRegistry, defineTool, type Compensation, type ToolSpec } from './spec.js';

/** The logging a tool may do: a structural subset of a pino logger, so this package needs no logger dependency. */
export interface ToolLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a tool's run() gets besides its arguments and its stores. */
export interface ToolRunContext {
  /**
   * The effect's idempotency key (`taskId:actionId`). A destructive tool records it with its effect so that verify()
   * can tell afterwards whether the effect happened, and so that running it twice changes nothing more.
   */
  readonly idempotencyKey: string;
  /** Aborted at the tool's timeout (or when the executor stops): the tool must stop its I/O and reject. */
  readonly signal: AbortSignal;
  readonly logger: ToolLogger;
  /**
   * The tenant the call runs for: what a tool that keeps personal data for undo seals it under (ADR 0026). The
   * executor always gives it.
   */
  readonly tenantId?: string;
}

/** What a dry run gets besides its arguments and its read-only stores. */
export interface ImpactContext {
  /** Aborted when the caller gives up: the dry run must stop its reads and reject. */
  readonly signal: AbortSignal;
}

/** What verify() gets besides its arguments and its stores. */
export interface VerifyContext {
  /** The key of the effect to look up. */
  readonly idempotencyKey: string;
  readonly signal: AbortSignal;
}

/** What verify() found about an effect that was dispatched but whose outcome was never recorded. */
export type VerifyOutcome =
  | { readonly status: 'applied'; readonly output: unknown }
  | { readonly status: 'not_applied' }
  | { readonly status: 'unknown'; readonly reason: string };

/**
 * Everything about one tool, in one place: its spec (name, description, schemas, resources, critical fields,
 * destructive, risk tier), its dry run (estimateImpact, over read-only stores of type I that the caller supplies),
 * run() and, for a tool whose effect can be looked up afterwards, verify() (over stores of type D).
 * The guard sizes a destructive call with estimateImpact; the executor binds run and verify to its stores.
 */
export interface ToolDefinition<A = unknown, O = unknown, D = never, I = never> extends ToolSpec {
  /** Zod schema of the tool's result: required, every result is validated before it reaches the model. */
  readonly outputSchema: z.ZodType;
  /** Per-tool call timeout; the executor's default applies when absent. */
  readonly timeoutMs?: number;
  /** How a call is undone, or why it cannot be (ADR 0026), over the parsed args. */
  readonly compensation?: Compensation<A>;
  /**
   * Dry run: what the call would touch (rows, files, recipients, money) without changing anything. Called with args
   * that passed argsSchema. Rejects with ToolRefusedError when the call may not use a store it names (the guard then
   * treats the impact as unknown).
   */
  estimateImpact(args: A, deps: I, ctx: ImpactContext): Promise<Impact>;
  /** Runs the call. Rejects on failure; must honour ctx.signal. */
  run(args: A, deps: D, ctx: ToolRunContext): Promise<O>;
  /** Looks up whether the effect under `idempotencyKey` happened (after a crash between dispatch and commit). */
  verify?(args: A, deps: D, ctx: VerifyContext): Promise<VerifyOutcome>;
}

/** Tool definitions by name, all over the same stores. */
export type ToolDefinitionRegistry<D = never, I = never> = ReadonlyMap<string, ToolDefinition<unknown, unknown, D, I>>;

function checkTimeout(name: string, timeoutMs: number | undefined): void {
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new ToolDefinitionError(`tool ${name}: timeoutMs must be a positive integer`);
  }
}

/**
 * Checks a tool definition (as defineTool checks a spec, and its timeout) and returns it unchanged. The argument
 * type of estimateImpact, run and verify follows the argument schema.
 */
export function defineToolDefinition<S extends z.ZodType, O, D, I>(
  tool: ToolDefinition<z.infer<S>, O, D, I> & { readonly argsSchema: S },
): ToolDefinition<z.infer<S>, O, D, I> & { readonly argsSchema: S } {
  defineTool(tool);
  checkTimeout(tool.name, tool.timeoutMs);
  return tool;
}

/** A registry of tool definitions by name; throws a ToolDefinitionError on a malformed tool or a duplicate name. */
export function createToolDefinitionRegistry<D, I>(
  tools: readonly ToolDefinition<unknown, unknown, D, I>[],
): ToolDefinitionRegistry<D, I> {
  return createToolRegistry(tools);
}

/**
 * The impact of a proposed call by its tool's own dry run, or null when there is none to tell: an unknown tool, a
 * tool that is not destructive, args its schema refuses (the guard's schema check denies those), or a dry run the
 * call's stores refuse (ToolRefusedError). Any other failure of the dry run rejects (its store is down: retry).
 */
export async function estimateToolImpact<I>(
  tools: ToolDefinitionRegistry<never, I>,
  name: string,
  args: unknown,
  deps: I,
  ctx: ImpactContext,
): Promise<Impact | null> {
  const tool = tools.get(name);
  if (tool === undefined || !tool.destructive) return null;
  const parsed = tool.argsSchema.safeParse(args);
  if (!parsed.success) return null;
  try {
    return await tool.estimateImpact(parsed.data, deps, ctx);
  } catch (error) {
    if (error instanceof ToolRefusedError) return null;
    throw error;
  }
}

/** A tool bound to the stores it runs on: what the executor calls. */
export interface RunnableTool<A = unknown, O = unknown> {
  /** The tool's spec (name, schemas, resources, risk tier). */
  readonly spec: ToolSpec;
  /** Per-tool call timeout; the executor's default applies when absent. */
  readonly timeoutMs?: number;
  /** Runs the call. Rejects on failure; must honour ctx.signal. */
  run(args: A, ctx: ToolRunContext): Promise<O>;
  /** Looks up whether the effect under `idempotencyKey` happened (after a crash between dispatch and commit). */
  verify?(args: A, ctx: VerifyContext): Promise<VerifyOutcome>;
}

/** The tool's name (its spec's). */
export const toolName = (tool: RunnableTool): string => tool.spec.name;

/**
 * Checks a runnable tool (its spec as defineTool does; an output schema is required so every result is validated)
 * and returns it unchanged. The argument type follows the spec's schema. For tools written outside a definition
 * (tests, benchmarks); a ToolDefinition becomes runnable through bindTool.
 */
export function defineRunnableTool<S extends ToolSpec, O>(
  tool: RunnableTool<z.infer<S['argsSchema']>, O> & { readonly spec: S },
): RunnableTool<z.infer<S['argsSchema']>, O> & { readonly spec: S } {
  defineTool(tool.spec);
  if (tool.spec.outputSchema === undefined) {
    throw new ToolDefinitionError(`tool ${tool.spec.name}: a runnable tool needs an output schema`);
  }
  checkTimeout(tool.spec.name, tool.timeoutMs);
  return tool;
}

/** A tool definition bound to the stores its run() and verify() work on. */
export function bindTool<D>(tool: ToolDefinition<unknown, unknown, D, never>, deps: D): RunnableTool {
  return {
    spec: tool,
    ...(tool.timeoutMs === undefined ? {} : { timeoutMs: tool.timeoutMs }),
    run: (args, ctx) => tool.run(args, deps, ctx),
    ...(tool.verify === undefined
      ? {}
      : { verify: (args: unknown, ctx: VerifyContext) => tool.verify!(args, deps, ctx) }),
  };
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
