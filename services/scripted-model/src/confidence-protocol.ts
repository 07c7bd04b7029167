import { z } from 'zod';

/**
 * The confidence protocol: how an OpenAI-compatible model tells Warden's planner how sure it is and what its claims
 * rest on. README.md, section "How confidence is conveyed", is the normative text; this module is its executable
 * form. In short:
 *
 * - the assistant message `content` is one JSON object (no code fence, no prose around it);
 * - on a tool-call turn (finish_reason "tool_calls"): `{"reasoning", "confidence", "claims"?}` next to `tool_calls`;
 *   the confidence applies to every tool call of the turn; the tool call `arguments` carry nothing extra;
 * - on an answer turn (finish_reason "stop"): `{"answer", "reasoning", "confidence", "claims"}`;
 * - when the request asks for logprobs, every entry of `choices[0].logprobs.content` has
 *   `logprob = ln(max(confidence, 1e-9))`, so exp(mean) and exp(min) of the token logprobs both give the confidence.
 */

/** Evidence kinds a claim may rest on. Mirrors the guard's grounding sources. */
export const EVIDENCE_KINDS = ['task_input', 'tool_result', 'retrieval'] as const;

/** The smallest confidence turned into a logprob (ln(0) is not a JSON number). */
export const MIN_LOGPROB_CONFIDENCE = 1e-9;

/**
 * One piece of evidence. `ref` names the source: for "tool_result" the `tool_call_id` of the earlier tool call whose
 * result supports the claim; for "task_input" a dot path into the task's input ("" or "." for the whole input); for
 * "retrieval" the id of a document returned by the retrieval tool. `quote`, when present, is the exact text in that
 * source the claim rests on, so a checker can look for it.
 */
export const EvidenceSchema = z.object({
  kind: z.enum(EVIDENCE_KINDS),
  ref: z.string().min(1),
  quote: z.string().min(1).optional(),
});

/**
 * A factual claim and the evidence it rests on (an empty evidence list means "ungrounded"). Like the envelopes, claims
 * and evidence accept (and drop) extra keys when decoding; scenario files use strict copies of these schemas.
 */
export const ClaimSchema = z.object({
  text: z.string().min(1),
  evidence: z.array(EvidenceSchema),
});

const confidence = z.number().min(0).max(1);

/** The JSON object in `content` on a tool-call turn. */
export const ToolTurnEnvelopeSchema = z.object({
  reasoning: z.string(),
  confidence,
  claims: z.array(ClaimSchema).optional(),
});

/** The JSON object in `content` on an answer turn. */
export const AnswerEnvelopeSchema = z.object({
  answer: z.string(),
  reasoning: z.string(),
  confidence,
  claims: z.array(ClaimSchema),
});

/** A piece of evidence a claim rests on. */
export type Evidence = z.infer<typeof EvidenceSchema>;
/** A factual claim with its evidence. */
export type Claim = z.infer<typeof ClaimSchema>;
/** The content envelope of a tool-call turn. */
export type ToolTurnEnvelope = z.infer<typeof ToolTurnEnvelopeSchema>;
/** The content envelope of an answer turn. */
export type AnswerEnvelope = z.infer<typeof AnswerEnvelopeSchema>;

/** The `content` string of a tool-call turn: keys in the order reasoning, confidence, claims (only when non-empty). */
export function encodeToolTurnContent(turn: {
  readonly reasoning: string;
  readonly confidence: number;
  readonly claims?: readonly Claim[] | undefined;
}): string {
  const envelope: ToolTurnEnvelope = { reasoning: turn.reasoning, confidence: turn.confidence };
  if (turn.claims !== undefined && turn.claims.length > 0) envelope.claims = [...turn.claims];
  return JSON.stringify(envelope);
}

/** The `content` string of an answer turn: keys in the order answer, reasoning, confidence, claims (always). */
export function encodeAnswerContent(turn: {
  readonly answer: string;
  readonly reasoning: string;
  readonly confidence: number;
  readonly claims?: readonly Claim[] | undefined;
}): string {
  const envelope: AnswerEnvelope = {
    answer: turn.answer,
    reasoning: turn.reasoning,
    confidence: turn.confidence,
    claims: [...(turn.claims ?? [])],
  };
  return JSON.stringify(envelope);
}

/** The logprob every content token carries for a turn of this confidence: ln(max(confidence, 1e-9)). */
export function confidenceToLogprob(confidenceValue: number): number {
  return Math.log(Math.max(confidenceValue, MIN_LOGPROB_CONFIDENCE));
}

/** The result of reading a content envelope: the envelope, or why there is none. */
export type DecodedEnvelope<T> =
  { readonly ok: true; readonly envelope: T } | { readonly ok: false; readonly reason: string };

function decode<T>(content: string | null, schema: z.ZodType<T>): DecodedEnvelope<T> {
  if (content === null || content.trim() === '') return { ok: false, reason: 'empty content' };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    return { ok: false, reason: `content is not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, envelope: parsed.data };
}

/**
 * Reads the envelope of a tool-call turn. A reference parser for the protocol: `ok: false` means the model did not
 * follow it, and the planner must treat the confidence as absent (never as 1).
 */
export function decodeToolTurnContent(content: string | null): DecodedEnvelope<ToolTurnEnvelope> {
  return decode(content, ToolTurnEnvelopeSchema);
}

/** Reads the envelope of an answer turn; see decodeToolTurnContent. */
export function decodeAnswerContent(content: string | null): DecodedEnvelope<AnswerEnvelope> {
  return decode(content, AnswerEnvelopeSchema);
}
