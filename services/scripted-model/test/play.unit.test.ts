import { describe, expect, it } from 'vitest';
import {
  AttemptCounter,
  assistantTurns,
  conversationTurn,
  countPromptTokens,
  failureForAttempt,
  parseScenario,
  playStep,
  requestFingerprint,
  scenarioIdOf,
  selectStep,
  type ChatRequest,
  type RequestMessage,
  type Scenario,
  type ScenarioInput,
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

describe('step selection when the client drops old turns (a context window)', () => {
  const read = (path: string, id?: string): ScenarioInput['steps'][number] => ({
    kind: 'tool_call',
    ...(id === undefined ? {} : { id }),
    name: 'files.read',
    arguments: { path },
    confidence: 0.8,
    reasoning: `read ${path}`,
  });
  const answer = (content: string): ScenarioInput['steps'][number] => ({
    kind: 'answer',
    content,
    confidence: 0.9,
    reasoning: 'r',
  });
  const sixReads = parseScenario({
    id: 'six-reads',
    description: 'six reads (one with an explicit id), then the answer',
    steps: [
      read('/0'),
      read('/1'),
      read('/2', 'call_read_two'),
      read('/3'),
      read('/4'),
      read('/5'),
      answer('all read'),
    ],
  });
  const system: RequestMessage = { role: 'system', content: 'You are a careful agent.' };
  const task: RequestMessage = { role: 'user', content: 'Read every file.' };

  /** Plays `turns` turns of a scenario as a client would, each tool call answered; returns the turns' messages. */
  function play(scenario: Scenario, turns: number, reply: (turn: number) => RequestMessage[] = () => []) {
    const played: RequestMessage[][] = [];
    for (let turn = 0; turn < turns; turn++) {
      const messages = [system, task, ...played.flat()];
      const selection = selectStep(scenario, messages);
      if (selection.kind !== 'step') throw new Error(`no step at turn ${turn}`);
      expect(selection).toMatchObject({ turnIndex: turn, stepIndex: Math.min(turn, scenario.turns.length - 1) });
      const request: ChatRequest = { model: `scripted:${scenario.id}`, messages };
      const out = playStep({ scenario, selection, request, fingerprint: requestFingerprint(request), promptTokens: 1 });
      const assistant: RequestMessage = {
        role: 'assistant',
        content: out.content,
        ...(out.toolCalls.length === 0
          ? {}
          : {
              tool_calls: out.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            }),
      };
      const results = out.toolCalls.map((c): RequestMessage => ({ role: 'tool', tool_call_id: c.id, content: 'ok' }));
      played.push([assistant, ...results, ...reply(turn)]);
    }
    return played;
  }

  /** What a windowing client sends: system, task, a summary of the dropped turns, the last `keep` turns. */
  function windowed(played: RequestMessage[][], keep: number): RequestMessage[] {
    const dropped = played.slice(0, played.length - keep).flat();
    const ids = dropped.flatMap((m) => (m.tool_calls ?? []).map((c) => c.id));
    const summary: RequestMessage = { role: 'user', content: `Summary of earlier turns: ${ids.join(', ')} read ok.` };
    return [system, task, summary, ...played.slice(played.length - keep).flat()];
  }

  it('plays step 6 for the last 2 turns of a 6-turn conversation, not step 2', () => {
    const messages = windowed(play(sixReads, 6), 2);
    expect(assistantTurns(messages)).toBe(2); // what counting alone would play
    const selection = selectStep(sixReads, messages);
    expect(selection).toMatchObject({ kind: 'step', turnIndex: 6, stepIndex: 6 });
    expect(selection.kind === 'step' && selection.step.kind === 'answer' && selection.step.content).toBe('all read');
  });

  it('anchors on an explicit script id, on a tool result alone, and on every window size', () => {
    const played = play(sixReads, 6);
    // the window starts at turn 2, whose only call has the script's explicit id
    expect(played[2]![0]!.tool_calls![0]!.id).toBe('call_read_two');
    expect(conversationTurn(sixReads, windowed(played.slice(0, 3), 1))).toBe(3);
    // only the tool result of turn 5 is left (its assistant message was dropped)
    expect(conversationTurn(sixReads, [system, task, played[5]![1]!])).toBe(6);
    for (let keep = 1; keep <= 6; keep++) expect(conversationTurn(sixReads, windowed(played, keep))).toBe(6);
  });

  it('carries the turn in generated ids, so a windowed replay past the end keeps counting', () => {
    const looping = parseScenario({ id: 'looping', description: 'd', steps: [read('/0'), read('/again')] });
    const played = play(looping, 5);
    expect(conversationTurn(looping, windowed(played, 1))).toBe(5);
    const strict = { ...looping, onExhausted: 'error' as const };
    expect(selectStep(strict, windowed(played, 1))).toEqual({ kind: 'exhausted', turnIndex: 5, steps: 2 });
  });

  it('reads the turn from a replayed explicit id (suffixed _t<turn>)', () => {
    const repeating = parseScenario({ id: 'repeating', description: 'd', steps: [read('/x', 'call_x')] });
    const played = play(repeating, 4);
    expect(played.map((turn) => turn[0]!.tool_calls![0]!.id)).toEqual([
      'call_x',
      'call_x_t1',
      'call_x_t2',
      'call_x_t3',
    ]);
    expect(conversationTurn(repeating, windowed(played, 1))).toBe(4);
  });

  it('recognises answer turns by their content when no ids are left', () => {
    const drafts = parseScenario({
      id: 'drafts',
      description: 'a read, then answers that keep getting rejected',
      steps: [read('/0'), answer('draft one'), answer('draft two'), answer('draft three')],
    });
    const rejected = (turn: number): RequestMessage[] =>
      turn === 0 ? [] : [{ role: 'user', content: 'Your answer was rejected: try again.' }];
    const messages = windowed(play(drafts, 3, rejected), 2);
    expect(messages.some((m) => m.tool_calls !== undefined || m.role === 'tool')).toBe(false);
    expect(assistantTurns(messages)).toBe(2);
    const selection = selectStep(drafts, messages);
    expect(selection).toMatchObject({ kind: 'step', turnIndex: 3, stepIndex: 3 });
    // a cut answer is a prefix of its step's content, and still recognised
    const cut: RequestMessage = { role: 'assistant', content: '{"answer":"draft tw' };
    expect(conversationTurn(drafts, [system, task, cut, rejected(1)[0]!])).toBe(3);
  });

  it('falls back to counting when nothing is recognisably its own (the documented limit)', () => {
    const same = parseScenario({
      id: 'same-answer',
      description: 'the same answer at two steps',
      steps: [answer('same'), answer('same'), answer('different')],
    });
    const sameContent = play(same, 1)[0]![0]!;
    // the content could be step 0 or step 1: it says nothing, so counting decides
    expect(conversationTurn(same, [system, task, { role: 'user', content: 'summary' }, sameContent])).toBe(1);
    // ids that look generated but fail the check (another server's, or another scenario's) say nothing either
    const foreign: RequestMessage = {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: `call_${'ab'.repeat(12)}`, type: 'function', function: { name: 'files.read', arguments: '{}' } },
      ],
    };
    expect(conversationTurn(sixReads, [system, task, foreign])).toBe(1);
    const otherScenario = play(parseScenario({ id: 'other', description: 'd', steps: [read('/a'), read('/b')] }), 2);
    expect(conversationTurn(sixReads, windowed(otherScenario, 1))).toBe(1);
    // an explicit id the script sends at two steps says nothing
    const twice = parseScenario({
      id: 'twice',
      description: 'd',
      steps: [read('/a', 'call_same'), read('/b'), read('/c', 'call_same'), answer('done')],
    });
    expect(conversationTurn(twice, [system, task, ...play(twice, 1)[0]!])).toBe(1);
  });

  it('counts the unrecognisable turns after the newest recognised one', () => {
    const repeats = parseScenario({
      id: 'repeats',
      description: 'two reads, then the same answer twice (rejected), then another',
      steps: [read('/0'), read('/1'), answer('same'), answer('same'), answer('final')],
    });
    const rejected = (turn: number): RequestMessage[] =>
      turn < 2 ? [] : [{ role: 'user', content: 'Your answer was rejected: try again.' }];
    const messages = windowed(play(repeats, 4, rejected), 3); // turn 1 (a read), then the two "same" answers
    expect(assistantTurns(messages)).toBe(3);
    expect(selectStep(repeats, messages)).toMatchObject({ kind: 'step', turnIndex: 4, stepIndex: 4 });
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
