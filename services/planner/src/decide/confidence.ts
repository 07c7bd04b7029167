import type { Claim, Confidence } from '@warden/contracts';
import { z } from 'zod';

/**
 * The confidence protocol (services/scripted-model/README.md, "How confidence is conveyed"): the assistant content
 * is one JSON object; tool-call turns carry {reasoning, confidence, claims?}, answer turns
 * {answer, reasoning, confidence, claims}. The planner owns this copy of the parser (it never imports a service).
 */
const Evidence = z.object({
  kind: z.enum(['task_input', 'tool_result', 'retrieval']),
  ref: z.string().min(1).max(500),
  quote: z.string().optional(),
});
const ClaimIn = z.object({ text: z.string().min(1).max(2000), evidence: z.array(Evidence).max(20) });
const Conf = z.number().min(0).max(1);

/** The JSON object in `content` on a tool-call turn. */
export const ToolTurnEnvelope = z.object({
  reasoning: z.string(),
  confidence: Conf,
  claims: z.array(ClaimIn).max(50).optional(),
});

/** The JSON object in `content` on an answer turn. */
export const AnswerEnvelope = z.object({
  answer: z.string(),
  reasoning: z.string(),
  confidence: Conf,
  claims: z.array(ClaimIn).max(50),
});

/** An envelope, or why there is none. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Parses content against an envelope schema; `ok: false` means the model did not follow the protocol. */
export function parseEnvelope<T>(content: string | null, schema: z.ZodType<T>): Parsed<T> {
  if (content === null || content.trim() === '') return { ok: false, reason: 'empty content' };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    return { ok: false, reason: `content is not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
  };
}

/** Claims as the contracts carry them (the optional quote is dropped: EvidenceRef has no quote). */
export function toClaims(claims: readonly z.infer<typeof ClaimIn>[] | undefined): Claim[] {
  return (claims ?? []).map((c) => ({ text: c.text, evidence: c.evidence.map((e) => ({ kind: e.kind, ref: e.ref })) }));
}

/** exp(mean(logprob)) over the content tokens; null without logprobs. */
export function logprobConfidence(logprobs: readonly number[] | null | undefined): number | null {
  if (logprobs === null || logprobs === undefined || logprobs.length === 0) return null;
  const finite = logprobs.filter((l) => Number.isFinite(l));
  if (finite.length === 0) return 0;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return Math.min(1, Math.max(0, Math.exp(mean)));
}

/**
 * The proposal's confidence: the structured value when the envelope has one, the logprob value when only that is
 * given, the lower of the two when both are (source "combined": a second opinion can only lower it), and 0 with
 * source "default" when neither is: an absent confidence is never read as 1.
 */
export function combineConfidence(structured: number | null, fromLogprobs: number | null): Confidence {
  if (structured !== null && fromLogprobs !== null)
    return { value: Math.min(structured, fromLogprobs), source: 'combined' };
  if (structured !== null) return { value: structured, source: 'structured' };
  if (fromLogprobs !== null) return { value: fromLogprobs, source: 'logprobs' };
  return { value: 0, source: 'default' };
}
