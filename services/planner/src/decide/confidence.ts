import type { Confidence } from '@warden/contracts';

/**
 * The proposal's confidence: the structured value when the envelope has one, the logprob value when only that is
 * given, the lower of the two when both are (source "combined": a second opinion can only lower it), and 0 with
 * source "default" when neither is: an absent confidence is never read as 1. The envelope and the logprobs are read
 * by the confidence protocol's one parser in @warden/contracts (decodeToolTurnContent, decodeAnswerContent,
 * logprobsToConfidence).
 */
export function combineConfidence(structured: number | null, fromLogprobs: number | null): Confidence {
  if (structured !== null && fromLogprobs !== null)
    return { value: Math.min(structured, fromLogprobs), source: 'combined' };
  if (structured !== null) return { value: structured, source: 'structured' };
  if (fromLogprobs !== null) return { value: fromLogprobs, source: 'logprobs' };
  return { value: 0, source: 'default' };
}
