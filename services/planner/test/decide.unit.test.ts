import { canonicalHash, type EventData } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { demoTools } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import {
  buildContext,
  combineConfidence,
  decideNext,
  detectLoop,
  evolve,
  initialState,
  interpretReply,
  partialResult,
  priceOf,
  renderToolOutput,
  reservationFor,
  resolveLimits,
  summariseTurns,
  taskBudgetOf,
  taskBudgetRefusal,
  toMicroUsd,
  o200kCounter,
  type ActionRecord,
  type Fact,
  type LoopSettings,
  type TaskState,
  type WindowSettings,
} from '../src/index.js';

const loops: LoopSettings = {
  maxRepeatedFailures: 2,
  maxRepeatedSuccesses: 3,
  oscillationCycles: 3,
  maxStepsWithoutNewInfo: 4,
};
const window: WindowSettings = { lastTurns: 2, toolOutputMaxTokens: 100, summaryMaxTokens: 200 };
const opts = { tokens: o200kCounter, window };
const limits = { maxTokens: 10_000, maxCostUsd: 1, maxSteps: 5, maxWallTimeMs: 60_000, maxConsecutiveFailures: 3 };
const T0 = Date.parse('2026-01-01T00:00:00Z');
let n = 0;
const id = (): string => `ev-${++n}`;

function fresh(overrides: Partial<TaskState> = {}): TaskState {
  const task = sampleTask({
    scope: {
      tools: ['customers.query', 'customers.update', 'http.get'],
      resources: { collections: ['customers'], paths: [], hosts: [], recipients: [] },
    },
  });
  return {
    ...initialState({
      eventId: 'submitted',
      taskId: 't1',
      tenantId: 'ten',
      model: 'scripted:x',
      task: task as EventData<'TaskSubmitted'>,
      startedAtMs: T0,
      limits,
    }),
    ...overrides,
  };
}

const fact = <T extends Fact['type']>(type: T, data: EventData<T>): Fact => ({ id: id(), type, data }) as Fact;

const responded = (
  toolCalls: { id: string; name: string; arguments: string }[],
  content: string | null = '{"reasoning":"r","confidence":0.8}',
) =>
  fact('ModelResponded', {
    callId: 'c',
    model: 'm',
    content,
    reasoning: null,
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
    costUsd: 0.001,
    durationMs: 1,
    attempts: 1,
    logprobConfidence: null,
  });

const queryArgs = { collection: 'customers', filter: { id: 'c-1' } };
const proposed = (actionId: string, args: Record<string, unknown> = queryArgs, tool = 'customers.query') =>
  fact('ActionProposed', {
    actionId,
    step: 1,
    tool,
    args: args as never,
    argsHash: canonicalHash(args),
    reasoning: 'r',
    confidence: { value: 0.8, source: 'structured' },
    claims: [],
  });
const succeeded = (actionId: string, result: unknown = { rows: [], total: 0 }) =>
  fact('ToolSucceeded', {
    actionId,
    tool: 'customers.query',
    effectKey: `t1:${actionId}`,
    result: result as never,
    durationMs: 1,
  });
const failed = (actionId: string, message = 'boom') =>
  fact('ToolFailed', {
    actionId,
    tool: 'customers.query',
    effectKey: `t1:${actionId}`,
    errorClass: 'tool_error',
    message,
    retryable: true,
    durationMs: 1,
  });

/** One step: model asks for a call, it is proposed, the outcome comes back. */
function step(
  state: TaskState,
  callId: string,
  outcome: (actionId: string) => Fact,
  args: Record<string, unknown> = queryArgs,
): TaskState {
  let s = evolve(state, responded([{ id: callId, name: 'customers.query', arguments: JSON.stringify(args) }]), opts);
  s = evolve(s, proposed(callId, args), opts);
  return evolve(s, outcome(callId), opts);
}

const rec = (tool: string, args: string, outcome: ActionRecord['outcome'], result: string): ActionRecord => ({
  actionId: `${tool}-${args}-${result}`,
  tool,
  argsHash: args,
  outcome,
  resultHash: result,
  note: '',
});

describe('decideNext', () => {
  it('calls the model for a new task', () => {
    expect(decideNext(fresh(), T0, loops)).toEqual({ kind: 'call_model' });
  });
  it('does nothing while a proposal waits, or once the task ended', () => {
    expect(decideNext(fresh({ status: 'waiting' }), T0, loops).kind).toBe('none');
    expect(decideNext(fresh({ status: 'halted' }), T0, loops).kind).toBe('none');
    expect(decideNext(fresh({ status: 'completed' }), T0, loops).kind).toBe('none');
  });
  it('halts past the wall time', () => {
    const next = decideNext(fresh(), T0 + 60_001, loops);
    expect(next).toMatchObject({ kind: 'halt', reason: { kind: 'budget', budget: 'wall_time', limit: 60_000 } });
  });
  it('opens the task breaker after N consecutive failures', () => {
    const next = decideNext(fresh({ consecutiveFailures: 3 }), T0, loops);
    expect(next).toMatchObject({ kind: 'halt', reason: { kind: 'breaker', consecutiveFailures: 3, limit: 3 } });
  });
  it('halts on a loop', () => {
    const history = [rec('a', 'h', 'failed', 'e'), rec('a', 'h', 'failed', 'e')];
    expect(decideNext(fresh({ history }), T0, loops)).toMatchObject({ kind: 'halt', reason: { kind: 'loop' } });
  });
  it('reports a loop as a loop when the same failures also trip the task breaker', () => {
    const history = [rec('a', 'h', 'rejected', 'e'), rec('a', 'h', 'rejected', 'e'), rec('a', 'h', 'rejected', 'e')];
    expect(decideNext(fresh({ history, consecutiveFailures: 3 }), T0, loops)).toMatchObject({
      kind: 'halt',
      reason: { kind: 'loop', loop: { kind: 'repeated_failure', tool: 'a' } },
    });
  });
  it('halts at the step limit', () => {
    expect(decideNext(fresh({ steps: 5 }), T0, loops)).toMatchObject({
      kind: 'halt',
      reason: { kind: 'budget', budget: 'steps' },
    });
  });
  it('proposes a queued call before calling the model again', () => {
    const call = { id: 'c2', name: 'customers.query', arguments: '{}' };
    expect(decideNext(fresh({ queue: [call] }), T0, loops)).toEqual({ kind: 'propose_queued', call });
  });
});

describe('detectLoop', () => {
  it('finds nothing in an empty or varied history', () => {
    expect(detectLoop([], loops)).toBeNull();
    expect(detectLoop([rec('a', '1', 'succeeded', 'r1'), rec('b', '2', 'succeeded', 'r2')], loops)).toBeNull();
  });
  it('finds the same call failing again', () => {
    const found = detectLoop(
      [rec('a', 'h', 'failed', 'e1'), rec('b', 'x', 'succeeded', 'r'), rec('a', 'h', 'failed', 'e2')],
      loops,
    );
    expect(found).toMatchObject({ kind: 'repeated_failure', tool: 'a', argsHash: 'h', count: 2 });
  });
  it('counts the same call refused again (by the guard or a person) as a loop, and says it was refused', () => {
    const refused = detectLoop([rec('a', 'h', 'rejected', 'e1'), rec('a', 'h', 'denied', 'e2')], loops);
    expect(refused).toMatchObject({ kind: 'repeated_failure', tool: 'a', argsHash: 'h', count: 2 });
    expect(refused?.message).toMatch(/was refused 2 times/);
    const mixed = detectLoop([rec('a', 'h', 'failed', 'e1'), rec('a', 'h', 'rejected', 'e2')], loops);
    expect(mixed?.message).toMatch(/failed or was refused 2 times \(1 refused\)/);
    expect(detectLoop([rec('a', 'h', 'rejected', 'e1'), rec('a', 'k', 'rejected', 'e2')], loops)).toBeNull();
  });
  it('does not count a failure of other args', () => {
    expect(detectLoop([rec('a', 'h', 'failed', 'e1'), rec('a', 'k', 'failed', 'e2')], loops)).toBeNull();
  });
  it('finds the same successful call with the same result repeated', () => {
    const r = rec('a', 'h', 'succeeded', 'r');
    expect(detectLoop([r, r], loops)).toBeNull();
    expect(detectLoop([r, r, r], loops)).toMatchObject({ kind: 'repeated_success', count: 3 });
  });
  it('finds an oscillation between two or three calls', () => {
    const a = rec('a', '1', 'succeeded', 'ra');
    const b = rec('b', '2', 'succeeded', 'rb');
    const c = rec('c', '3', 'succeeded', 'rc');
    const relaxed = { ...loops, maxRepeatedSuccesses: 100, maxStepsWithoutNewInfo: 100 };
    expect(detectLoop([a, b, a, b, a], relaxed)).toBeNull();
    expect(detectLoop([a, b, a, b, a, b], relaxed)).toMatchObject({ kind: 'oscillation', count: 3 });
    expect(detectLoop([a, b, c, a, b, c, a, b, c], relaxed)).toMatchObject({ kind: 'oscillation' });
  });
  it('finds K steps without new information', () => {
    const h = [
      rec('a', '1', 'succeeded', 'x'),
      rec('b', '2', 'succeeded', 'x'),
      rec('c', '3', 'succeeded', 'x'),
      rec('d', '4', 'succeeded', 'x'),
    ];
    expect(detectLoop(h, loops)).toBeNull(); // 3 stale results after the first
    expect(detectLoop([...h, rec('e', '5', 'succeeded', 'x')], loops)).toMatchObject({ kind: 'no_progress', count: 4 });
  });
});

describe('interpretReply', () => {
  const offered = ['customers.query', 'customers.update'];
  const view = (over: Partial<Parameters<typeof interpretReply>[0]>) => ({
    content: null,
    toolCalls: [],
    finishReason: 'stop',
    logprobConfidence: null,
    ...over,
  });

  it('turns a valid tool call into an action with the envelope confidence and claims', () => {
    const content = JSON.stringify({
      reasoning: 'look up',
      confidence: 0.9,
      claims: [{ text: 'c-1 named', evidence: [{ kind: 'task_input', ref: 'customerId', quote: 'c-1' }] }],
    });
    const r = interpretReply(
      view({
        content,
        toolCalls: [{ id: 'call_1', name: 'customers.query', arguments: JSON.stringify(queryArgs) }],
        finishReason: 'tool_calls',
      }),
      offered,
      demoTools,
    );
    expect(r).toEqual({
      kind: 'action',
      toolCallId: 'call_1',
      tool: 'customers.query',
      args: queryArgs,
      reasoning: 'look up',
      confidence: { value: 0.9, source: 'structured' },
      claims: [{ text: 'c-1 named', evidence: [{ kind: 'task_input', ref: 'customerId' }] }],
    });
  });
  it('accepts the sanitised function name', () => {
    const r = interpretReply(
      view({ toolCalls: [{ id: 'c', name: 'customers__query', arguments: JSON.stringify(queryArgs) }] }),
      offered,
      demoTools,
    );
    expect(r).toMatchObject({ kind: 'action', tool: 'customers.query', confidence: { value: 0, source: 'default' } });
  });
  it('uses the logprob confidence when the envelope is absent', () => {
    const r = interpretReply(
      view({
        toolCalls: [{ id: 'c', name: 'customers.query', arguments: JSON.stringify(queryArgs) }],
        logprobConfidence: 0.4,
      }),
      offered,
      demoTools,
    );
    expect(r).toMatchObject({ kind: 'action', confidence: { value: 0.4, source: 'logprobs' } });
  });
  it('calls malformed JSON arguments bad output', () => {
    const r = interpretReply(
      view({ toolCalls: [{ id: 'c', name: 'customers.query', arguments: '{"collection": "cu' }] }),
      offered,
      demoTools,
    );
    expect(r).toMatchObject({ kind: 'bad_output', errorClass: 'malformed_arguments' });
  });
  it('calls arguments that fail the tool schema, or are not an object, bad output', () => {
    expect(
      interpretReply(
        view({ toolCalls: [{ id: 'c', name: 'customers.query', arguments: '{"collection":"customers"}' }] }),
        offered,
        demoTools,
      ),
    ).toMatchObject({ kind: 'bad_output', errorClass: 'malformed_arguments' });
    expect(
      interpretReply(view({ toolCalls: [{ id: 'c', name: 'customers.query', arguments: '[1]' }] }), offered, demoTools),
    ).toMatchObject({ kind: 'bad_output', errorClass: 'malformed_arguments' });
  });
  it('calls an unknown or unoffered tool bad output, even next to a valid call', () => {
    expect(
      interpretReply(view({ toolCalls: [{ id: 'c', name: 'shell.exec', arguments: '{}' }] }), offered, demoTools),
    ).toMatchObject({ kind: 'bad_output', errorClass: 'unknown_tool' });
    const both = [
      { id: 'a', name: 'customers.query', arguments: JSON.stringify(queryArgs) },
      { id: 'b', name: 'files.read', arguments: '{"path":"/x"}' },
    ];
    expect(interpretReply(view({ toolCalls: both }), offered, demoTools)).toMatchObject({
      kind: 'bad_output',
      errorClass: 'unknown_tool',
    });
  });
  it('turns a valid answer envelope into an answer, combining logprobs as a second opinion', () => {
    const content = JSON.stringify({ answer: 'done', reasoning: 'r', confidence: 0.9, claims: [] });
    expect(interpretReply(view({ content, logprobConfidence: 0.7 }), offered, demoTools)).toEqual({
      kind: 'answer',
      answer: 'done',
      reasoning: 'r',
      confidence: { value: 0.7, source: 'combined' },
      claims: [],
    });
  });
  it('calls empty content, an empty answer, a missing envelope and a cut reply bad output', () => {
    expect(interpretReply(view({ content: '' }), offered, demoTools)).toMatchObject({ errorClass: 'empty_answer' });
    expect(
      interpretReply(
        view({ content: JSON.stringify({ answer: ' ', reasoning: 'r', confidence: 1, claims: [] }) }),
        offered,
        demoTools,
      ),
    ).toMatchObject({ errorClass: 'empty_answer' });
    expect(interpretReply(view({ content: 'Sure! Done.' }), offered, demoTools)).toMatchObject({
      errorClass: 'missing_fields',
    });
    expect(
      interpretReply(view({ content: JSON.stringify({ answer: 'x', confidence: 1 }) }), offered, demoTools),
    ).toMatchObject({ errorClass: 'missing_fields' });
    expect(
      interpretReply(view({ content: '{"answer": "x", "reas', finishReason: 'length' }), offered, demoTools),
    ).toMatchObject({ errorClass: 'missing_fields' });
  });
});

describe('confidence', () => {
  it('combines the envelope and the logprobs, never treating absence as 1', () => {
    expect(combineConfidence(null, null)).toEqual({ value: 0, source: 'default' });
    expect(combineConfidence(0.3, null)).toEqual({ value: 0.3, source: 'structured' });
    expect(combineConfidence(0.9, 0.95)).toEqual({ value: 0.9, source: 'combined' });
  });
});

describe('evolve', () => {
  it('folds a step: response, proposal, success', () => {
    const s = step(fresh(), 'call_1', (a) => succeeded(a, { rows: [{ id: 'c-1' }], total: 1 }));
    expect(s.status).toBe('planning');
    expect(s.steps).toBe(1);
    expect(s.history).toHaveLength(1);
    expect(s.history[0]).toMatchObject({ actionId: 'call_1', tool: 'customers.query', outcome: 'succeeded' });
    expect(s.turns[0]!.replies[0]).toMatchObject({ role: 'tool', toolCallId: 'call_1' });
    expect(s.totals.usage.totalTokens).toBe(15);
    expect(s.consecutiveFailures).toBe(0);
  });
  it('counts failures, resets them on success, and skips the rest of a failed turn', () => {
    let s = evolve(
      fresh(),
      responded([
        { id: 'a', name: 'customers.query', arguments: JSON.stringify(queryArgs) },
        { id: 'b', name: 'customers.query', arguments: JSON.stringify(queryArgs) },
      ]),
      opts,
    );
    s = evolve(s, proposed('a'), opts);
    expect(s.queue.map((c) => c.id)).toEqual(['b']);
    s = evolve(s, failed('a'), opts);
    expect(s.consecutiveFailures).toBe(1);
    expect(s.queue).toEqual([]);
    expect(s.turns[0]!.replies.map((r) => r.toolCallId)).toEqual(['a', 'b']);
    s = step(s, 'c', (x) => succeeded(x));
    expect(s.consecutiveFailures).toBe(0);
  });
  it('ignores an outcome that does not answer the pending proposal, and a redelivered event', () => {
    let s = evolve(
      fresh(),
      responded([{ id: 'a', name: 'customers.query', arguments: JSON.stringify(queryArgs) }]),
      opts,
    );
    s = evolve(s, proposed('a'), opts);
    const stale = evolve(s, succeeded('zzz'), opts);
    expect(stale.status).toBe('waiting');
    const ok = succeeded('a');
    const once = evolve(s, ok, opts);
    expect(evolve(once, ok, opts)).toBe(once);
  });
  it('feeds rejections and denials back and counts them as failures', () => {
    let s = evolve(
      fresh(),
      responded([{ id: 'a', name: 'customers.query', arguments: JSON.stringify(queryArgs) }]),
      opts,
    );
    s = evolve(s, proposed('a'), opts);
    const h = 'a'.repeat(64);
    s = evolve(
      s,
      fact('ActionRejected', {
        proposalEventId: '00000000-0000-4000-8000-000000000000',
        proposalKind: 'action',
        actionId: 'a',
        rulesEvaluated: [],
        ruleFired: 'scope',
        reasonCode: 'out_of_scope',
        policyVersion: 'p',
        inputHashes: { proposal: h, state: h, policy: h },
        tool: 'customers.query',
        argsHash: h,
        message: 'no',
      }),
      opts,
    );
    expect(s).toMatchObject({ status: 'planning', consecutiveFailures: 1 });
    expect(s.history[0]!.outcome).toBe('rejected');
    expect(s.turns[0]!.replies[0]!.content).toContain('rejected_by_guard');
    s = evolve(
      s,
      fact('AnswerProposed', {
        actionId: 'answer-2',
        step: 2,
        answer: 'x',
        reasoning: 'r',
        confidence: { value: 1, source: 'structured' },
        claims: [],
      }),
      opts,
    );
    s = evolve(
      s,
      fact('HumanDenied', {
        escalationId: 'e',
        actionId: 'answer-2',
        decidedBy: { id: 'ops', kind: 'user' },
        argsHash: h,
        policyVersion: 'p',
        expiresAt: '2026-01-02T00:00:00.000Z',
        comment: 'wrong',
      }),
      opts,
    );
    expect(s).toMatchObject({ status: 'planning', consecutiveFailures: 2, pending: null });
    expect(s.turns.at(-1)!.replies.at(-1)).toMatchObject({ role: 'user' });
  });
  it('answers bad output with error replies for each call, or a user message, and counts it', () => {
    let s = evolve(fresh(), responded([{ id: 'a', name: 'customers.query', arguments: '{bad' }]), opts);
    s = evolve(
      s,
      fact('ModelFailed', {
        callId: 'c',
        model: 'm',
        errorClass: 'malformed_arguments',
        message: 'not JSON',
        attempts: 1,
      }),
      opts,
    );
    expect(s.turns[0]!.replies).toEqual([
      { role: 'tool', toolCallId: 'a', content: expect.stringContaining('malformed_arguments') as string },
    ]);
    expect(s).toMatchObject({ consecutiveFailures: 1, queue: [] });
    s = evolve(s, responded([], ''), opts);
    s = evolve(
      s,
      fact('ModelFailed', { callId: 'c', model: 'm', errorClass: 'empty_answer', message: 'empty', attempts: 1 }),
      opts,
    );
    expect(s.turns[1]!.replies[0]).toMatchObject({ role: 'user' });
    s = evolve(
      s,
      fact('ModelFailed', { callId: 'c', model: 'm', errorClass: 'rate_limited', message: '429', attempts: 6 }),
      opts,
    );
    expect(s.turns).toHaveLength(2);
    expect(s.consecutiveFailures).toBe(3);
  });
  it('ends on TaskCompleted, TaskFailed and TaskHalted', () => {
    const totals = { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 };
    const partial = { done: [], notDone: [], why: 'x' };
    expect(evolve(fresh(), fact('TaskCompleted', { answer: 'a', totals }), opts).status).toBe('completed');
    expect(evolve(fresh(), fact('TaskFailed', { reasonCode: 'r', message: 'm', partial, totals }), opts).status).toBe(
      'failed',
    );
    expect(
      evolve(fresh(), fact('TaskHalted', { reasonCode: 'loop_detected', message: 'm', partial, totals }), opts),
    ).toMatchObject({ status: 'halted', endReason: 'loop_detected' });
  });
});

describe("an admin's resume of a halted task", () => {
  const totals = { steps: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 };
  const partial = { done: [], notDone: [], why: 'x' };
  const failed = (i: number): ActionRecord => ({
    actionId: `a${i}`,
    tool: 'http.get',
    argsHash: 'f'.repeat(64),
    outcome: 'failed',
    resultHash: 'e'.repeat(64),
    note: 'failed',
  });
  const resumed = (grant?: { steps?: number }) =>
    fact('TaskResumed', {
      escalationId: 't1:planner:2:loop',
      haltEventId: 'halt-1',
      haltReasonCode: 'loop_detected',
      decidedBy: { id: 'root', kind: 'user', role: 'admin' },
      policyVersion: 'p',
      expiresAt: '2030-01-01T00:00:00.000Z',
      ...(grant === undefined ? {} : { grant }),
    });

  it('records the halt it may answer, then plans again from where it stopped, loop and breaker counts afresh', () => {
    const looping = fresh({ history: [failed(1), failed(2)], steps: 2, consecutiveFailures: 2 });
    expect(decideNext(looping, T0, loops)).toMatchObject({ kind: 'halt', reason: { kind: 'loop' } });
    const halted = evolve(
      looping,
      {
        id: 'halt-1',
        type: 'TaskHalted',
        data: { reasonCode: 'loop_detected', message: 'm', partial, totals, escalationId: 't1:planner:2:loop' },
      },
      opts,
    );
    expect(halted.halt).toEqual({ eventId: 'halt-1', escalationId: 't1:planner:2:loop', reasonCode: 'loop_detected' });
    const next = evolve(halted, resumed({ steps: 3 }), opts);
    expect(next).toMatchObject({
      status: 'planning',
      endReason: null,
      consecutiveFailures: 0,
      loopFrom: 2,
      resumes: 1,
    });
    expect(next.halt).toBeUndefined();
    expect(next.history).toEqual(halted.history); // nothing done is forgotten, so nothing is done again
    expect(next.limits.maxSteps).toBe(limits.maxSteps + 3);
    expect(decideNext(next, T0, loops).kind).toBe('call_model');
  });

  it('changes nothing for a task that is not halted', () => {
    const s = fresh();
    expect(evolve(s, resumed(), opts)).toMatchObject({ status: 'planning', limits, consecutiveFailures: 0 });
    expect(evolve(s, resumed(), opts).resumes).toBeUndefined();
  });
});

describe('context window and tool outputs', () => {
  it('keeps a huge tool output within its budget, with a note of what was cut', () => {
    const small = renderToolOutput({ content: 'x y '.repeat(20) }, 100, o200kCounter);
    expect(small).toBe(JSON.stringify({ content: 'x y '.repeat(20) }));
    const huge = renderToolOutput({ content: 'line of text number '.repeat(50_000) }, 100, o200kCounter);
    expect(o200kCounter.count(huge)).toBeLessThanOrEqual(200);
    expect(huge).toContain('output truncated');
    expect(huge).toContain('content: string(1000000 chars)');
  });
  it('keeps the system prompt, the task, a summary and the last N turns; the prompt stops growing', () => {
    let s = fresh({ limits: { ...limits, maxSteps: 100 } });
    const sizes: number[] = [];
    for (let i = 0; i < 12; i++) {
      s = step(s, `call_${i}`, (a) => succeeded(a, { rows: [{ id: `c-${i}`, note: 'n'.repeat(50) }], total: 1 }), {
        collection: 'customers',
        filter: { id: `c-${i}` },
      });
      const messages = buildContext(s, window, o200kCounter);
      sizes.push(
        messages.reduce(
          (t, m) =>
            t +
            o200kCounter.count(m.content ?? '') +
            (m.toolCalls ?? []).reduce((x, c) => x + o200kCounter.count(c.arguments), 0),
          0,
        ),
      );
      if (i >= 2) {
        expect(messages[0]!.role).toBe('system');
        expect(messages[1]!.content).toContain('Task:');
        expect(messages[2]!.content).toContain('Summary of the');
        expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(2);
      }
    }
    const late = sizes.slice(6);
    expect(Math.max(...late) - Math.min(...late)).toBeLessThan(sizes[0]! / 2 + 220);
    expect(Math.max(...late)).toBeLessThan(window.summaryMaxTokens + sizes[1]! + 100);
  });
  it('summarises within its budget, newest turns first to stay', () => {
    let s = fresh({ limits: { ...limits, maxSteps: 100 } });
    for (let i = 0; i < 40; i++)
      s = step(s, `k${i}`, (a) => succeeded(a, { i }), { collection: 'customers', filter: { id: `c-${i}` } });
    const summary = summariseTurns(s.turns, 120, o200kCounter);
    expect(o200kCounter.count(summary)).toBeLessThanOrEqual(120);
    expect(summary).toContain('older turns omitted');
    expect(summary).toContain('c-39');
  });
});

describe('budgets, prices and partial results', () => {
  it('prices exact names first, then the longest prefix; unknown is undefined (fail closed)', () => {
    const table = [
      { model: 'gpt-*', inputUsdPerMTok: 1, outputUsdPerMTok: 1 },
      { model: 'gpt-4o*', inputUsdPerMTok: 2, outputUsdPerMTok: 2 },
      { model: 'gpt-4o-mini', inputUsdPerMTok: 3, outputUsdPerMTok: 3 },
    ];
    expect(priceOf('gpt-4o-mini', table)?.inputUsdPerMTok).toBe(3);
    expect(priceOf('gpt-4o-2024', table)?.inputUsdPerMTok).toBe(2);
    expect(priceOf('gpt-3.5', table)?.inputUsdPerMTok).toBe(1);
    expect(priceOf('claude', table)).toBeUndefined();
  });
  it('reserves the prompt plus max tokens, in whole micro-dollars rounded up', () => {
    expect(reservationFor(1000, 500, { model: 'm', inputUsdPerMTok: 1, outputUsdPerMTok: 2 })).toEqual({
      tokens: 1500,
      costMicroUsd: 2000,
    });
    expect(toMicroUsd(0.0000001)).toBe(1);
  });
  it("keeps the task's own budget in its state: reserved by BudgetReserved, settled at the call's usage (ADR 0031)", () => {
    const before = fresh({ limits: { ...limits, maxTokens: 3_000, maxCostUsd: 0.001 } });
    expect(taskBudgetOf(before)).toEqual({ tokens: 0, microUsd: 0 });
    const wanted = { tokens: 2_000, costMicroUsd: 600 };
    expect(taskBudgetRefusal(taskBudgetOf(before), before.limits, wanted)).toBeNull();
    const reserved = evolve(
      before,
      {
        id: id(),
        type: 'BudgetReserved',
        data: {
          reservationId: 'c1',
          callId: 'c1',
          tokens: 2_000,
          costUsd: 0.0006,
          taskUsed: { tokens: 2_000, costUsd: 0.0006 },
        },
      },
      opts,
    );
    expect(reserved.budget).toEqual({
      tokens: 2_000,
      microUsd: 600,
      open: { callId: 'c1', tokens: 2_000, microUsd: 600 },
    });
    // a second call now would be refused on the reservation, not on a guess
    expect(taskBudgetRefusal(reserved.budget!, before.limits, wanted)).toEqual({
      budget: 'tokens',
      limit: 3_000,
      used: 2_000,
      requested: 2_000,
    });
    const usage = { promptTokens: 900, completionTokens: 100, totalTokens: 1_000 };
    const settled = evolve(
      reserved,
      {
        id: id(),
        type: 'ModelResponded',
        data: {
          callId: 'c1',
          model: 'scripted:x',
          content: 'hi',
          reasoning: null,
          toolCalls: [],
          finishReason: 'stop',
          usage,
          costUsd: 0.000195,
          durationMs: 1,
          attempts: 1,
          logprobConfidence: null,
        },
      },
      opts,
    );
    expect(settled.budget).toEqual({ tokens: 1_000, microUsd: 195 });
    // a later failure of the same call (bad output) changes nothing; a failed call with no usage settles at 0
    const bad = evolve(
      settled,
      {
        id: id(),
        type: 'ModelFailed',
        data: { callId: 'c1', model: 'x', errorClass: 'empty_answer', message: 'm', attempts: 1 },
      },
      opts,
    );
    expect(bad.budget).toEqual({ tokens: 1_000, microUsd: 195 });
    expect(taskBudgetRefusal(settled.budget!, before.limits, { tokens: 1_000, costMicroUsd: 900 })).toEqual({
      budget: 'cost',
      limit: 0.001,
      used: 0.000195,
      requested: 0.0009,
    });
  });

  it('caps a task budget by the ceilings', () => {
    const l = resolveLimits(
      { maxTokens: 1e6, maxCostUsd: 0.5, maxSteps: 3, maxWallTimeMs: 1e9 },
      { onMagnitudeExceeded: 'deny', maxConsecutiveFailures: 50 },
      limits,
    );
    expect(l).toEqual({
      maxTokens: 10_000,
      maxCostUsd: 0.5,
      maxSteps: 3,
      maxWallTimeMs: 60_000,
      maxConsecutiveFailures: 3,
    });
  });
  it('says what was done, what was not, and why', () => {
    let s = step(fresh(), 'a', (x) => succeeded(x));
    s = step(s, 'b', (x) => failed(x), { collection: 'customers', filter: { id: 'c-2' } });
    const p = partialResult(s, 'loop');
    expect(p.done).toHaveLength(1);
    expect(p.notDone.some((x) => x.includes('failed'))).toBe(true);
    expect(p.notDone.at(-1)).toContain('the goal was not reached');
    expect(p.why).toBe('loop');
  });
});

describe('a task with a given plan (ADR 0026)', () => {
  const step = (actionId: string, tool: string) => ({
    actionId,
    tool,
    args: { collection: 'customers', id: 'c-1', reverts: 't0:a1' },
    reasoning: `undo ${actionId}`,
  });
  const givenTask = (): TaskState =>
    initialState({
      eventId: 'submitted',
      taskId: 'rb',
      tenantId: 'ten',
      model: 'scripted:x',
      task: sampleTask({
        plan: { steps: [step('u1', 'customers.revert'), step('u2', 'customers.restore')] },
      }) as EventData<'TaskSubmitted'>,
      startedAtMs: T0,
      limits,
    });
  const proposed = (actionId: string, tool: string, s: number) =>
    fact('ActionProposed', {
      actionId,
      step: s,
      tool,
      args: {},
      argsHash: canonicalHash({}),
      reasoning: 'r',
      confidence: { value: 1, source: 'default' },
      claims: [],
    });
  const succeeded = (actionId: string, tool: string) =>
    fact('ToolSucceeded', { actionId, tool, effectKey: `rb:${actionId}`, result: { matched: 1 }, durationMs: 1 });

  it('proposes its steps in order without calling the model, then the closing answer', () => {
    let s = givenTask();
    expect(decideNext(s, T0, loops)).toEqual({ kind: 'propose_given', step: step('u1', 'customers.revert') });
    s = evolve(s, proposed('u1', 'customers.revert', 1), opts);
    expect(decideNext(s, T0, loops)).toEqual({ kind: 'none' }); // waiting for the outcome
    s = evolve(s, succeeded('u1', 'customers.revert'), opts);
    expect(decideNext(s, T0, loops)).toEqual({ kind: 'propose_given', step: step('u2', 'customers.restore') });
    s = evolve(s, proposed('u2', 'customers.restore', 2), opts);
    s = evolve(s, succeeded('u2', 'customers.restore'), opts);
    expect(decideNext(s, T0, loops)).toEqual({ kind: 'answer_given' });
  });

  it('fails at the first step that does not succeed: the steps after it are not proposed', () => {
    let s = givenTask();
    s = evolve(s, proposed('u1', 'customers.revert', 1), opts);
    s = evolve(
      s,
      fact('ToolFailed', {
        actionId: 'u1',
        tool: 'customers.revert',
        effectKey: 'rb:u1',
        errorClass: 'tool_error',
        message: 'no values were recorded',
        retryable: false,
        durationMs: 1,
      }),
      opts,
    );
    expect(decideNext(s, T0, loops)).toMatchObject({ kind: 'fail_given', record: { actionId: 'u1' } });
  });

  it('still halts at the wall-time limit', () => {
    expect(decideNext(givenTask(), T0 + limits.maxWallTimeMs + 1, loops)).toMatchObject({ kind: 'halt' });
  });
});
