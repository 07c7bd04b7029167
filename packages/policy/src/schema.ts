import type { z } from 'zod';
import { GuardReasonCodes } from './reason-codes.js';
import { formatZodError, truncate } from './format.js';
import type { AnswerProposal, CheckContext, CheckResult, Policy } from './types.js';

const allow: CheckResult = { outcome: 'allow' };

function deny(code: string, detail: string): CheckResult {
  return { outcome: 'deny', code, detail: truncate(detail) };
}

function checkAnswer(proposal: AnswerProposal, policy: Policy): CheckResult {
  if (proposal.answer.trim() === '') return deny(GuardReasonCodes.emptyAnswer, 'answer is empty');
  const { maxChars, outputSchema } = policy.answer;
  if (maxChars !== undefined && proposal.answer.length > maxChars) {
    return deny(GuardReasonCodes.answerTooLong, `answer has ${proposal.answer.length} characters, over ${maxChars}`);
  }
  if (outputSchema) {
    const parsed = outputSchema.safeParse(proposal.output);
    if (!parsed.success) return deny(GuardReasonCodes.invalidOutput, formatZodError('output', parsed.error));
  }
  return allow;
}

/**
 * Schema check. An action's tool must be defined by the policy, its args must match the tool's zod schema and its
 * argsHash must be canonicalHash(args) (a person's approval binds to that hash). An answer must be non-empty,
 * within the policy's length and match the policy's output schema when there is one.
 */
export function checkSchema(ctx: CheckContext): CheckResult {
  const { proposal, policy, tool } = ctx;
  if (proposal.kind === 'answer') return checkAnswer(proposal, policy);
  if (!tool) {
    return deny(GuardReasonCodes.unknownTool, `tool ${proposal.tool} is not defined in policy ${policy.version}`);
  }
  const parsed = tool.argsSchema.safeParse(proposal.args);
  if (!parsed.success) return deny(GuardReasonCodes.invalidArgs, formatZodError('args', parsed.error));
  if (ctx.computedArgsHash === null) return deny(GuardReasonCodes.invalidArgs, 'args have no canonical JSON form');
  if (ctx.computedArgsHash !== proposal.argsHash) {
    return deny(
      GuardReasonCodes.argsHashMismatch,
      `argsHash ${proposal.argsHash.slice(0, 12)}… is not canonicalHash(args) ${ctx.computedArgsHash.slice(0, 12)}…`,
    );
  }
  return allow;
}

/** The outcome of validating a tool's result. */
export type OutputValidation =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'unknown_tool' | 'invalid_output'; readonly detail: string };

/**
 * Validates a tool's result against the tool's output schema before it reaches the model or a downstream write.
 * A tool without an output schema accepts any result; a tool the policy does not define is refused.
 */
export function validateToolOutput(tool: string, result: unknown, policy: Policy): OutputValidation {
  const spec = policy.tools.get(tool);
  if (!spec)
    return { ok: false, code: 'unknown_tool', detail: `tool ${tool} is not defined in policy ${policy.version}` };
  const schema: z.ZodType | undefined = spec.outputSchema;
  if (!schema) return { ok: true };
  const parsed = schema.safeParse(result);
  return parsed.success
    ? { ok: true }
    : { ok: false, code: 'invalid_output', detail: formatZodError('result', parsed.error) };
}
