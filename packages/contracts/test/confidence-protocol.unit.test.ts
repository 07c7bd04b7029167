import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_KINDS,
  MAX_CLAIMS_PER_PROPOSAL,
  MAX_CLAIM_TEXT_CHARS,
  MAX_EVIDENCE_PER_CLAIM,
  MAX_EVIDENCE_REF_CHARS,
  MIN_LOGPROB_CONFIDENCE,
  confidenceToLogprob,
  decodeAnswerContent,
  decodeToolTurnContent,
  encodeAnswerContent,
  encodeToolTurnContent,
  eventDataSchemas,
  logprobsToConfidence,
  toContractClaims,
  type ProtocolClaim,
} from '@warden/contracts';

/** Evidence as a model may state it: within the limits, with or without a quote. */
const evidence = fc.record(
  {
    kind: fc.constantFrom(...EVIDENCE_KINDS),
    ref: fc.string({ minLength: 1, maxLength: MAX_EVIDENCE_REF_CHARS }),
    quote: fc.string(),
  },
  { requiredKeys: ['kind', 'ref'] },
);

/** A claim within the limits (short texts mostly, the longest allowed sometimes). */
const claim: fc.Arbitrary<ProtocolClaim> = fc.record({
  text: fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ minLength: MAX_CLAIM_TEXT_CHARS, maxLength: MAX_CLAIM_TEXT_CHARS }),
  ),
  evidence: fc.array(evidence, { maxLength: MAX_EVIDENCE_PER_CLAIM }),
});

const claims = fc.array(claim, { maxLength: MAX_CLAIMS_PER_PROPOSAL });
const confidence = fc.double({ min: 0, max: 1, noNaN: true });

const toolTurn = fc.record(
  { reasoning: fc.string(), confidence, claims },
  { requiredKeys: ['reasoning', 'confidence'] },
);
const answerTurn = fc.record({ answer: fc.string(), reasoning: fc.string(), confidence, claims });

/** Keys the protocol does not define, for "extra keys are ignored". */
const extraKeys = fc.dictionary(
  fc.string({ minLength: 1 }).filter((k) => !['answer', 'reasoning', 'confidence', 'claims', '__proto__'].includes(k)),
  fc.jsonValue(),
  { maxKeys: 3 },
);

/** The object's keys in another order. */
function reordered(value: Record<string, unknown>, order: readonly number[]): Record<string, unknown> {
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const i of order) {
    const entry = entries[i % entries.length];
    if (entry !== undefined) out[entry[0]] = entry[1];
  }
  for (const [k, v] of entries) if (!(k in out)) out[k] = v;
  return out;
}

describe('the confidence protocol: writer and parser', () => {
  it('decodes every tool-call turn it encodes (no claims: the key is left out)', () => {
    fc.assert(
      fc.property(toolTurn, (turn) => {
        const expected =
          turn.claims === undefined || turn.claims.length === 0
            ? { reasoning: turn.reasoning, confidence: turn.confidence }
            : { reasoning: turn.reasoning, confidence: turn.confidence, claims: turn.claims };
        expect(decodeToolTurnContent(encodeToolTurnContent(turn))).toEqual({ ok: true, envelope: expected });
      }),
    );
  });

  it('decodes every answer turn it encodes', () => {
    fc.assert(
      fc.property(answerTurn, (turn) => {
        expect(decodeAnswerContent(encodeAnswerContent(turn))).toEqual({ ok: true, envelope: turn });
      }),
    );
  });

  it('reads an envelope whatever its key order, whitespace and extra keys', () => {
    fc.assert(
      fc.property(
        answerTurn,
        extraKeys,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 0, max: 4 }),
        (turn, extra, order, indent) => {
          const content = JSON.stringify(reordered({ ...extra, ...turn }, order), null, indent);
          expect(decodeAnswerContent(content)).toEqual({ ok: true, envelope: turn });
          const { answer: _answer, ...toolPart } = turn;
          expect(
            decodeToolTurnContent(JSON.stringify(reordered({ ...toolPart, ...extra }, order), null, indent)),
          ).toEqual({ ok: true, envelope: toolPart });
        },
      ),
    );
  });

  it('never throws, and whatever it accepts has a confidence in [0, 1] and fits a proposal event', () => {
    const anyContent = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({ reasoning: fc.jsonValue(), confidence: fc.jsonValue(), claims: fc.jsonValue() })
        .map((v) => JSON.stringify(v)),
      fc.constant(null),
    );
    const proposalClaims = eventDataSchemas.AnswerProposed.shape.claims;
    fc.assert(
      fc.property(anyContent, (content) => {
        for (const decoded of [decodeToolTurnContent(content), decodeAnswerContent(content)]) {
          if (decoded.ok) {
            expect(decoded.envelope.confidence).toBeGreaterThanOrEqual(0);
            expect(decoded.envelope.confidence).toBeLessThanOrEqual(1);
            expect(proposalClaims.safeParse(toContractClaims(decoded.envelope.claims)).success).toBe(true);
          } else {
            expect(decoded.reason).not.toBe('');
          }
        }
      }),
    );
  });

  it('refuses a confidence outside [0, 1] or not a number: the confidence is then absent, never 1', () => {
    const outside = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((c) => c < 0 || c > 1),
      fc.constantFrom<unknown>('0.9', true, null, [0.5], {}),
    );
    fc.assert(
      fc.property(toolTurn, outside, (turn, bad) => {
        const decoded = decodeToolTurnContent(JSON.stringify({ ...turn, confidence: bad }));
        expect(decoded).toMatchObject({ ok: false, reason: expect.stringContaining('confidence') });
      }),
    );
  });

  it('refuses claims over the contracts limits, so a parsed envelope always fits the event it becomes', () => {
    const ok = { text: 't', evidence: [{ kind: 'task_input', ref: 'customerId' }] };
    const answer = (c: unknown): string => JSON.stringify({ answer: 'a', reasoning: 'r', confidence: 0.5, claims: c });
    expect(decodeAnswerContent(answer(Array(MAX_CLAIMS_PER_PROPOSAL).fill(ok))).ok).toBe(true);
    expect(decodeAnswerContent(answer(Array(MAX_CLAIMS_PER_PROPOSAL + 1).fill(ok)))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('claims'),
    });
    expect(decodeAnswerContent(answer([{ ...ok, text: 'x'.repeat(MAX_CLAIM_TEXT_CHARS + 1) }])).ok).toBe(false);
    expect(decodeAnswerContent(answer([{ ...ok, text: '' }])).ok).toBe(false);
    expect(
      decodeAnswerContent(answer([{ ...ok, evidence: Array(MAX_EVIDENCE_PER_CLAIM + 1).fill(ok.evidence[0]) }])).ok,
    ).toBe(false);
    const longRef = { kind: 'retrieval', ref: 'd'.repeat(MAX_EVIDENCE_REF_CHARS + 1) };
    expect(decodeAnswerContent(answer([{ ...ok, evidence: [longRef] }])).ok).toBe(false);
    expect(decodeAnswerContent(answer([{ ...ok, evidence: [{ kind: 'hearsay', ref: 'x' }] }])).ok).toBe(false);
    expect(decodeAnswerContent(answer([{ ...ok, evidence: [{ kind: 'task_input', ref: '' }] }])).ok).toBe(false);
  });
});

describe('the confidence protocol: edge cases', () => {
  it('encodes tool turns as {reasoning, confidence, claims?} and answers as {answer, reasoning, confidence, claims}', () => {
    expect(encodeToolTurnContent({ reasoning: 'look it up', confidence: 0.82 })).toBe(
      '{"reasoning":"look it up","confidence":0.82}',
    );
    const claims = [{ text: 't', evidence: [{ kind: 'task_input' as const, ref: 'customerId' }] }];
    expect(encodeToolTurnContent({ reasoning: 'r', confidence: 0.5, claims })).toBe(
      '{"reasoning":"r","confidence":0.5,"claims":[{"text":"t","evidence":[{"kind":"task_input","ref":"customerId"}]}]}',
    );
    expect(encodeToolTurnContent({ reasoning: 'r', confidence: 0.5, claims: [] })).toBe(
      '{"reasoning":"r","confidence":0.5}',
    );
    expect(encodeAnswerContent({ answer: 'done', reasoning: 'r', confidence: 0.9 })).toBe(
      '{"answer":"done","reasoning":"r","confidence":0.9,"claims":[]}',
    );
  });

  it('explains what it cannot read', () => {
    expect(decodeToolTurnContent(null)).toEqual({ ok: false, reason: 'empty content' });
    expect(decodeAnswerContent('')).toEqual({ ok: false, reason: 'empty content' });
    expect(decodeAnswerContent(' \n\t')).toEqual({ ok: false, reason: 'empty content' });
    expect(decodeAnswerContent('Sure! Here it is.')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not JSON'),
    });
    // a code fence or prose around the object is not the protocol
    expect(decodeAnswerContent('```json\n{"answer":"x","reasoning":"r","confidence":0.9,"claims":[]}\n```').ok).toBe(
      false,
    );
    expect(decodeAnswerContent('{"answer":"x","reasoning":"r","confidence":2,"claims":[]}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('confidence'),
    });
    // an answer turn needs its claims (may be []); a tool-call turn does not
    expect(decodeAnswerContent('{"answer":"x","reasoning":"r","confidence":0.9}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('claims'),
    });
    expect(decodeToolTurnContent('{"reasoning":"r"}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('confidence'),
    });
    expect(decodeToolTurnContent('[0.9]')).toMatchObject({ ok: false, reason: expect.stringContaining('(root)') });
  });

  it('ignores extra keys at every level, and keeps an evidence quote (even empty) for the caller to drop', () => {
    expect(
      decodeToolTurnContent(
        '{"reasoning":"r","confidence":0.4,"model_notes":"x","claims":[{"text":"t","evidence":[],"weight":1}]}',
      ),
    ).toEqual({ ok: true, envelope: { reasoning: 'r', confidence: 0.4, claims: [{ text: 't', evidence: [] }] } });
    const quoted = decodeToolTurnContent(
      '{"reasoning":"r","confidence":0.4,"claims":[{"text":"t","evidence":[{"kind":"tool_result","ref":"call_1","quote":"","x":1}]}]}',
    );
    expect(quoted).toEqual({
      ok: true,
      envelope: {
        reasoning: 'r',
        confidence: 0.4,
        claims: [{ text: 't', evidence: [{ kind: 'tool_result', ref: 'call_1', quote: '' }] }],
      },
    });
  });

  it('turns protocol claims into the contracts claims: absent is [], quotes are dropped', () => {
    expect(toContractClaims(undefined)).toEqual([]);
    expect(
      toContractClaims([{ text: 'c-1 named', evidence: [{ kind: 'task_input', ref: 'customerId', quote: 'c-1' }] }]),
    ).toEqual([{ text: 'c-1 named', evidence: [{ kind: 'task_input', ref: 'customerId' }] }]);
  });
});

describe('the confidence protocol: logprobs', () => {
  it('gives the confidence back from the logprobs it writes, for any number of tokens', () => {
    fc.assert(
      fc.property(confidence, fc.integer({ min: 1, max: 500 }), (c, tokens) => {
        const logprobs = Array<number>(tokens).fill(confidenceToLogprob(c));
        expect(logprobs.every(Number.isFinite)).toBe(true);
        expect(logprobsToConfidence(logprobs)).toBeCloseTo(Math.max(c, MIN_LOGPROB_CONFIDENCE), 12);
        expect(Math.exp(Math.min(...logprobs))).toBeCloseTo(Math.max(c, MIN_LOGPROB_CONFIDENCE), 12);
      }),
    );
  });

  it('reads exp(mean(logprob)) within [0, 1], and nothing (not 1) without logprobs', () => {
    expect(logprobsToConfidence(null)).toBeNull();
    expect(logprobsToConfidence(undefined)).toBeNull();
    expect(logprobsToConfidence([])).toBeNull();
    expect(logprobsToConfidence([Math.log(0.5), Math.log(0.5)])).toBeCloseTo(0.5, 10);
    expect(logprobsToConfidence([Math.log(0.25), Math.log(1)])).toBeCloseTo(0.5, 10);
    expect(logprobsToConfidence([-Infinity, Number.NaN])).toBe(0);
    expect(logprobsToConfidence([Math.log(0.5), -Infinity])).toBeCloseTo(0.5, 10);
    expect(logprobsToConfidence([3])).toBe(1);
    expect(confidenceToLogprob(1)).toBe(0);
    expect(confidenceToLogprob(0)).toBe(Math.log(MIN_LOGPROB_CONFIDENCE));
    expect(Math.exp(confidenceToLogprob(0.3))).toBeCloseTo(0.3, 12);
  });
});
