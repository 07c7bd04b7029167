import { describe, expect, it } from 'vitest';
import {
  AttemptCounter,
  assistantTurns,
  confidenceToLogprob,
  countPromptTokens,
  decodeAnswerContent,
  decodeToolTurnContent,
  encodeAnswerContent,
  encodeToolTurnContent,
  failureForAttempt,
  parseScenario,
  playStep,
  requestFingerprint,
  scenarioIdOf,
  selectStep,
  type ChatRequest,
  type RequestMessage,
} from '@warden/scripted-model';

const scenario = parseScenario({
  id: 'branchy',
  description: 'd',
  steps: [
    { kind: 'tool_call', name: 'http.get', arguments: { url: 'https://x' }, confidence: 0.7, reasoning: 'fetch' },
    [
      {
        when: { lastToolResultContains: ['timeout', 'error'] },
        kind: 'answer',
        content: 'failed',
        confidence: 0.2,
        reasoning: 'r',
      },
      { kind: 'answer', content: 'fetched', confidence: 0.9, reasoning: 'r' },
    ],
  ],
});

const user: RequestMessage = { role: 'user', content: 'go' };
const assistant: RequestMessage = {
  role: 'assistant',
  content: null,
  tool_calls: [{ id: 'c1', type: 'function', function: { name: 'http.get', arguments: '{}' } }],
};
const tool = (content: string): RequestMessage => ({ role: 'tool', tool_call_id: 'c1', content });

describe('step selection', () => {
  it('maps model names to scenario ids', () => {
    expect(scenarioIdOf('scripted:refund-happy')).toBe('refund-happy');
    expect(scenarioIdOf('scripted/refund-happy')).toBe('refund-happy');
    expect(scenarioIdOf('scripted:')).toBeUndefined();
    expect(scenarioIdOf('gpt-4o')).toBeUndefined();
  });

  it('plays step i when the request holds i assistant messages', () => {
    expect(assistantTurns([user, assistant, tool('ok'), assistant])).toBe(2);
    expect(selectStep(scenario, [user])).toMatchObject({ kind: 'step', turnIndex: 0, stepIndex: 0 });
    expect(selectStep(scenario, [user, assistant, tool('ok')])).toMatchObject({
      kind: 'step',
      turnIndex: 1,
      stepIndex: 1,
    });
  });

  it('branches on the last tool message (any needle), falling back to the last alternative', () => {
    const pick = (result: string) => {
      const s = selectStep(scenario, [user, assistant, tool(result)]);
      return s.kind === 'step' && s.step.kind === 'answer' ? s.step.content : undefined;
    };
    expect(pick('{"error":"boom"}')).toBe('failed');
    expect(pick('request timeout')).toBe('failed');
    expect(pick('{"status":200}')).toBe('fetched');
    const parts: RequestMessage = { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'an error' }] };
    const s = selectStep(scenario, [user, assistant, parts]);
    expect(s.kind === 'step' && s.step.kind === 'answer' && s.step.content).toBe('failed');
  });

  it('repeats the last step past the end, or reports exhaustion', () => {
    const long = [user, assistant, tool('ok'), assistant, tool('ok'), assistant];
    expect(selectStep(scenario, long)).toMatchObject({ kind: 'step', turnIndex: 3, stepIndex: 1 });
    expect(selectStep({ ...scenario, onExhausted: 'error' }, long)).toEqual({
      kind: 'exhausted',
      turnIndex: 3,
      steps: 2,
    });
  });
});

describe('scripted failures', () => {
  it('fails attempts in the order of the failures list, then succeeds', () => {
    const step = parseScenario({
      id: 's',
      description: 'd',
      steps: [
        {
          kind: 'answer',
          content: 'x',
          confidence: 1,
          reasoning: 'r',
          failures: [
            { status: 429, times: 3 },
            { status: 500, times: 2 },
          ],
        },
      ],
    }).turns[0]!.alternatives[0]!;
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => failureForAttempt(step, a)?.status)).toEqual([
      429,
      429,
      429,
      500,
      500,
      undefined,
      undefined,
    ]);
  });

  it('counts attempts per key, bounded, forgetting the oldest', () => {
    const counter = new AttemptCounter(2);
    expect(counter.next('a').attempt).toBe(0);
    expect(counter.next('a').attempt).toBe(1);
    expect(counter.next('b').attempt).toBe(0);
    expect(counter.next('c')).toEqual({ attempt: 0, evicted: true });
    expect(counter.next('a').attempt).toBe(0);
    expect(counter.evictedTotal).toBe(2);
  });
});

describe('played turns', () => {
  const request = (messages: RequestMessage[], extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'scripted:branchy',
    messages,
    ...extra,
  });

  it('is deterministic, with tool call ids that differ per conversation', () => {
    const play = (messages: RequestMessage[]) => {
      const r = request(messages);
      const selection = selectStep(scenario, messages);
      if (selection.kind !== 'step') throw new Error('no step');
      return playStep({
        scenario,
        selection,
        request: r,
        fingerprint: requestFingerprint(r),
        promptTokens: countPromptTokens(messages, undefined),
      });
    };
    expect(play([user])).toEqual(play([user]));
    expect(play([user]).toolCalls[0]!.id).not.toBe(play([{ role: 'user', content: 'other' }]).toolCalls[0]!.id);
    expect(play([user]).toolCalls[0]!.id).toMatch(/^call_[0-9a-f]{24}$/);
  });
});

describe('the confidence protocol', () => {
  it('encodes tool turns as {reasoning, confidence, claims?} and answers as {answer, reasoning, confidence, claims}', () => {
    expect(encodeToolTurnContent({ reasoning: 'look it up', confidence: 0.82 })).toBe(
      '{"reasoning":"look it up","confidence":0.82}',
    );
    const claims = [{ text: 't', evidence: [{ kind: 'task_input' as const, ref: 'customerId' }] }];
    expect(encodeToolTurnContent({ reasoning: 'r', confidence: 0.5, claims })).toBe(
      '{"reasoning":"r","confidence":0.5,"claims":[{"text":"t","evidence":[{"kind":"task_input","ref":"customerId"}]}]}',
    );
    expect(encodeAnswerContent({ answer: 'done', reasoning: 'r', confidence: 0.9 })).toBe(
      '{"answer":"done","reasoning":"r","confidence":0.9,"claims":[]}',
    );
  });

  it('decodes what it encodes and explains what it cannot', () => {
    expect(decodeToolTurnContent(encodeToolTurnContent({ reasoning: 'r', confidence: 0.3 }))).toEqual({
      ok: true,
      envelope: { reasoning: 'r', confidence: 0.3 },
    });
    expect(decodeToolTurnContent(null)).toEqual({ ok: false, reason: 'empty content' });
    expect(
      decodeToolTurnContent(
        '{"reasoning":"r","confidence":0.4,"model_notes":"x","claims":[{"text":"t","evidence":[],"weight":1}]}',
      ),
    ).toEqual({ ok: true, envelope: { reasoning: 'r', confidence: 0.4, claims: [{ text: 't', evidence: [] }] } });
    expect(decodeAnswerContent('Sure! Here it is.')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not JSON'),
    });
    expect(decodeAnswerContent('{"answer":"x","reasoning":"r","confidence":2,"claims":[]}')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('confidence'),
    });
  });

  it('maps confidence to a finite logprob', () => {
    expect(Math.exp(confidenceToLogprob(0.3))).toBeCloseTo(0.3, 12);
    expect(confidenceToLogprob(1)).toBe(0);
    expect(Number.isFinite(confidenceToLogprob(0))).toBe(true);
  });
});
