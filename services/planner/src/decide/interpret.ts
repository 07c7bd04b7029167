import { decodeAnswerContent, decodeToolTurnContent, toContractClaims, type JsonObject } from '@warden/contracts';
import type { ToolRegistry } from '@warden/tools';
import { combineConfidence } from './confidence.js';
import type { Interpretation, RawToolCall } from './types.js';

/** The model's reply, as much of it as interpretation needs. */
export interface ReplyView {
  readonly content: string | null;
  readonly toolCalls: readonly RawToolCall[];
  readonly finishReason: string | null;
  readonly logprobConfidence: number | null;
}

/**
 * The function name a tool is offered under. OpenAI-compatible APIs allow only [A-Za-z0-9_-] in function names, so
 * "customers.query" is offered as "customers__query"; replies naming either form are accepted.
 */
export function functionNameOf(tool: string): string {
  return tool.replaceAll('.', '__');
}

/** The tool a function name in a reply refers to, among those offered; undefined when none. */
export function toolOfFunctionName(name: string, offered: readonly string[]): string | undefined {
  return offered.find((t) => t === name || functionNameOf(t) === name);
}

/**
 * Checks one tool call: a tool that was offered, arguments that are a JSON object and pass the tool's zod schema.
 * Returns the action, or the bad-output class and why.
 */
export function checkToolCall(
  call: RawToolCall,
  offered: readonly string[],
  registry: ToolRegistry,
):
  | { ok: true; tool: string; args: JsonObject }
  | { ok: false; errorClass: 'unknown_tool' | 'malformed_arguments'; message: string } {
  const tool = toolOfFunctionName(call.name, offered);
  const spec = tool === undefined ? undefined : registry.get(tool);
  if (tool === undefined || spec === undefined) {
    return {
      ok: false,
      errorClass: 'unknown_tool',
      message: `tool ${JSON.stringify(call.name)} is not offered to this task`,
    };
  }
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === '' ? '{}' : call.arguments);
  } catch (error) {
    return {
      ok: false,
      errorClass: 'malformed_arguments',
      message: `${tool}: arguments are not JSON: ${(error as Error).message}`,
    };
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { ok: false, errorClass: 'malformed_arguments', message: `${tool}: arguments are not a JSON object` };
  }
  const parsed = spec.argsSchema.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, errorClass: 'malformed_arguments', message: `${tool}: invalid arguments: ${issues}` };
  }
  return { ok: true, tool, args: args as JsonObject };
}

/**
 * Turns the model's reply into the next proposal, or a bad-output failure. Pure. Tool-call turns: every call must be
 * valid (one bad call makes the whole turn bad output: a half-checked turn is never acted on); the first is
 * proposed now, the others are queued. Answer turns need the answer envelope with a non-empty answer, and a reply
 * cut at max tokens (finish_reason "length") is never an answer.
 */
export function interpretReply(reply: ReplyView, offered: readonly string[], registry: ToolRegistry): Interpretation {
  if (reply.toolCalls.length > 0) {
    for (const call of reply.toolCalls) {
      const checked = checkToolCall(call, offered, registry);
      if (!checked.ok) return { kind: 'bad_output', errorClass: checked.errorClass, message: checked.message };
    }
    return interpretQueuedCall(reply, reply.toolCalls[0]!, offered, registry);
  }
  if (reply.finishReason === 'length') {
    return { kind: 'bad_output', errorClass: 'missing_fields', message: 'the reply was cut at max tokens' };
  }
  if (reply.content === null || reply.content.trim() === '') {
    return { kind: 'bad_output', errorClass: 'empty_answer', message: 'the model answered with empty content' };
  }
  const decoded = decodeAnswerContent(reply.content);
  if (!decoded.ok) {
    return {
      kind: 'bad_output',
      errorClass: 'missing_fields',
      message: `no valid answer envelope: ${decoded.reason}`,
    };
  }
  const { envelope } = decoded;
  if (envelope.answer.trim() === '') {
    return { kind: 'bad_output', errorClass: 'empty_answer', message: 'the answer is empty' };
  }
  return {
    kind: 'answer',
    answer: envelope.answer,
    reasoning: envelope.reasoning,
    confidence: combineConfidence(envelope.confidence, reply.logprobConfidence),
    claims: toContractClaims(envelope.claims),
  };
}

/**
 * The action for one (already checked or queued) tool call of a tool-call turn: its args, and the turn's reasoning,
 * confidence and claims from the envelope (absent envelope: empty reasoning, logprob or default confidence).
 */
export function interpretQueuedCall(
  reply: Pick<ReplyView, 'content' | 'logprobConfidence'>,
  call: RawToolCall,
  offered: readonly string[],
  registry: ToolRegistry,
): Interpretation {
  const checked = checkToolCall(call, offered, registry);
  if (!checked.ok) return { kind: 'bad_output', errorClass: checked.errorClass, message: checked.message };
  const decoded = decodeToolTurnContent(reply.content);
  const envelope = decoded.ok ? decoded.envelope : null;
  return {
    kind: 'action',
    toolCallId: call.id,
    tool: checked.tool,
    args: checked.args,
    reasoning: envelope?.reasoning ?? '',
    confidence: combineConfidence(envelope?.confidence ?? null, reply.logprobConfidence),
    claims: toContractClaims(envelope?.claims),
  };
}
