import type { JsonValue } from '@warden/contracts';
import type { RunnableTool, ToolLogger } from '@warden/tools';
import { InvalidToolOutputError, ToolTimeoutError } from './errors.js';

/** What one call needs besides the tool and its args. */
export interface CallOptions {
  readonly idempotencyKey: string;
  readonly timeoutMs: number;
  readonly logger: ToolLogger;
  /** The worker's own signal (aborted when it is forced to stop). */
  readonly signal: AbortSignal;
  /** The tenant the call runs for (what a tool seals kept personal data under, ADR 0026). */
  readonly tenantId?: string;
}

/**
 * Runs one tool call with a timeout that cancels it: at timeoutMs the call's AbortSignal fires (the tool stops its
 * I/O) and the call rejects with ToolTimeoutError even if the tool ignores the signal. The output is checked
 * against the tool's output schema before it is returned, so an invalid output is a failed call.
 */
export async function callTool(tool: RunnableTool, args: unknown, options: CallOptions): Promise<JsonValue> {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new ToolTimeoutError(`${tool.spec.name} did not answer within ${options.timeoutMs} ms: call cancelled`, {
          details: { tool: tool.spec.name, timeoutMs: options.timeoutMs },
        }),
      ),
    options.timeoutMs,
  );
  const forward = (): void => controller.abort(options.signal.reason);
  if (options.signal.aborted) forward();
  else options.signal.addEventListener('abort', forward, { once: true });
  try {
    const aborted = new Promise<never>((_resolve, reject) => {
      if (controller.signal.aborted) reject(controller.signal.reason as Error);
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
    });
    const output = await Promise.race([
      tool.run(args, {
        idempotencyKey: options.idempotencyKey,
        signal: controller.signal,
        logger: options.logger,
        ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      }),
      aborted,
    ]);
    return checkOutput(tool, output);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', forward);
  }
}

/** Checks an output against the tool's schema and returns it as plain JSON; throws InvalidToolOutputError. */
export function checkOutput(tool: RunnableTool, output: unknown): JsonValue {
  const schema = tool.spec.outputSchema;
  if (schema === undefined) throw new InvalidToolOutputError(`${tool.spec.name} has no output schema`);
  const parsed = schema.safeParse(output);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(output)'}: ${i.message}`).join('; ');
    throw new InvalidToolOutputError(`output of ${tool.spec.name} does not match its schema: ${issues}`, {
      details: { tool: tool.spec.name },
    });
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(output);
  } catch (error) {
    throw new InvalidToolOutputError(`output of ${tool.spec.name} is not JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new InvalidToolOutputError(`output of ${tool.spec.name} is not JSON`);
  return JSON.parse(json) as JsonValue;
}
