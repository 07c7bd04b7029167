import { z } from 'zod';
import { EVIDENCE_KINDS, type Claim } from './common-schemas.js';
import {
  MAX_CLAIMS_PER_PROPOSAL,
  MAX_CLAIM_TEXT_CHARS,
  MAX_EVIDENCE_PER_CLAIM,
  MAX_EVIDENCE_REF_CHARS,
} from './limits.js';

/**
 * The confidence protocol: how an OpenAI-compatible model tells Warden's planner how sure it is and what its claims
 * rest on. services/scripted-model/README.md, section "How confidence is conveyed", is the normative text; this
 * module is its one executable form: the planner parses with it and the scripted model writes with it. In short:
 *
 * - the assistant message `content` is one JSON object (no code fence, no prose around it);
 * - on a tool-call turn (finish_reason "tool_calls"): `{"reasoning", "confidence", "claims"?}` next to `tool_calls`;
 *   the confidence applies to every tool call of the turn; the tool call `arguments` carry nothing extra;
 * - on an answer turn (finish_reason "stop"): `{"answer", "reasoning", "confidence", "claims"}`;
 * - when the request asks for logprobs, every entry of `choices[0].logprobs.content` has
 *   `logprob = ln(max(confidence, 1e-9))`, so exp(mean) and exp(min) of the token logprobs both give the confidence.
 *
 * Claims are bounded by the contracts' limits (MAX_CLAIMS_PER_PROPOSAL and the rest), so an envelope that parses
 * always fits the proposal event it becomes. Extra keys are accepted and dropped; key order does not matter.
 */

/** The smallest confidence turned into a logprob (ln(0) is not a JSON number). */
export const MIN_LOGPROB_CONFIDENCE = 1e-9;

/**
 * One piece of evidence. `ref` names the source: for "tool_result" the `tool_call_id` of the earlier tool call whose
 * result supports the claim; for "task_input" a dot path into the task's input ("" or "." for the whole input); for
 * "retrieval" the id of a document returned by the retrieval tool. `quote`, when present, is the exact text in that
 * source the claim rests on, so a checker can look for it (the contracts' EvidenceRef does not carry it).
 */
export const ProtocolEvidence = z.object({
  kind: z.enum(EVIDENCE_KINDS),
  ref: z.string().min(1).max(MAX_EVIDENCE_REF_CHARS),
  quote: z.string().optional(),
});
/** A piece of evidence a claim rests on, as the model states it. */
export type ProtocolEvidence = z.infer<typeof ProtocolEvidence>;

/** A factual claim and the evidence it rests on, as the model states it (an empty evidence list: ungrounded). */
export const ProtocolClaim = z.object({
  text: z.string().min(1).max(MAX_CLAIM_TEXT_CHARS),
  evidence: z.array(ProtocolEvidence).max(MAX_EVIDENCE_PER_CLAIM),
});
/** A factual claim with its evidence, as the model states it. */
export type ProtocolClaim = z.infer<typeof ProtocolClaim>;

const confidence = z.number().min(0).max(1);
const claims = z.array(ProtocolClaim).max(MAX_CLAIMS_PER_PROPOSAL);

/** The JSON object in `content` on a tool-call turn. */
export const ToolTurnEnvelope = z.object({
  reasoning: z.string(),
  confidence,
  claims: claims.optional(),
});
/** The content envelope of a tool-call turn. */
export type ToolTurnEnvelope = z.infer<typeof ToolTurnEnvelope>;

/** The JSON object in `content` on an answer turn. */
export const AnswerEnvelope = z.object({
  answer: z.string(),
  reasoning: z.string(),
  confidence,
  claims,
});
/** The content envelope of an answer turn. */
export type AnswerEnvelope = z.infer<typeof AnswerEnvelope>;

/** The `content` string of a tool-call turn: keys in the order reasoning, confidence, claims (only when non-empty). */
export function encodeToolTurnContent(turn: {
  readonly reasoning: string;
  readonly confidence: number;
  readonly claims?: readonly ProtocolClaim[] | undefined;
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
  readonly claims?: readonly ProtocolClaim[] | undefined;
}): string {
  const envelope: AnswerEnvelope = {
    answer: turn.answer,
    reasoning: turn.reasoning,
    confidence: turn.confidence,
    claims: [...(turn.claims ?? [])],
  };
  return JSON.stringify(envelope);
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
 * Reads the envelope of a tool-call turn. `ok: false` (null, empty, not JSON, or not the envelope) means the model
 * did not follow the protocol, and the confidence must be treated as absent, never as 1. Never throws.
 */
export function decodeToolTurnContent(content: string | null): DecodedEnvelope<ToolTurnEnvelope> {
  return decode(content, ToolTurnEnvelope);
}

/** Reads the envelope of an answer turn; see decodeToolTurnContent. */
export function decodeAnswerContent(content: string | null): DecodedEnvelope<AnswerEnvelope> {
  return decode(content, AnswerEnvelope);
}

/** Claims as the contracts carry them: an absent list is `[]`, and each evidence's quote is dropped. */
export function toContractClaims(protocolClaims: readonly ProtocolClaim[] | undefined): Claim[] {
  return (protocolClaims ?? []).map((c) => ({
    text: c.text,
    evidence: c.evidence.map((e) => ({ kind: e.kind, ref: e.ref })),
  }));
}

/** The logprob every content token carries for a turn of this confidence: ln(max(confidence, 1e-9)). */
export function confidenceToLogprob(confidenceValue: number): number {
  return Math.log(Math.max(confidenceValue, MIN_LOGPROB_CONFIDENCE));
}

/**
 * The confidence the content tokens' logprobs convey: exp(mean(logprob)) over the finite ones, within [0, 1]; 0 when
 * none is finite; null without logprobs (absent, never 1).
 */
export function logprobsToConfidence(logprobs: readonly number[] | null | undefined): number | null {
  if (logprobs === null || logprobs === undefined || logprobs.length === 0) return null;
  const finite = logprobs.filter((l) => Number.isFinite(l));
  if (finite.length === 0) return 0;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return Math.min(1, Math.max(0, Math.exp(mean)));
}
