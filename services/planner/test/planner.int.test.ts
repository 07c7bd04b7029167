import {
  follow,
  generateSigningKeyPair,
  signDecision,
  verifyChain,
  type EventData,
  type WardenEvent,
} from '@warden/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { tenantBudgetLogOf } from '../src/index.js';
import { testKafka, waitUntil } from '@warden/runtime/testing';
import {
  approveAnswer,
  escalateAnswer,
  fail,
  humanApproveAnswer,
  ofType,
  startHarness,
  succeed,
  testDecisionKeys,
  type Harness,
} from './harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});
async function harness(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

/** The task ended and every event of its chain has arrived (topics are read independently). */
const ended = (events: WardenEvent[]): boolean =>
  events.some((e) => e.type === 'TaskCompleted' || e.type === 'TaskFailed' || e.type === 'TaskHalted') &&
  events.length === Math.max(...events.map((e) => e.seq)) + 1;

const multiStep = {
  id: 'planner-multi',
  description: 'query, update, answer: argument shapes of @warden/tools',
  steps: [
    {
      kind: 'tool_call',
      id: 'call_q',
      name: 'customers.query',
      arguments: { collection: 'customers', filter: { id: 'c-42' } },
      confidence: 0.95,
      reasoning: 'Look the customer up.',
      claims: [{ text: 'The task names c-42', evidence: [{ kind: 'task_input', ref: 'customerId' }] }],
    },
    {
      kind: 'tool_call',
      id: 'call_u',
      name: 'customers.update',
      arguments: { collection: 'customers', id: 'c-42', set: { status: 'active' } },
      confidence: 0.88,
      reasoning: 'Reactivate the customer.',
    },
    {
      kind: 'answer',
      content: 'Customer c-42 is active again.',
      confidence: 0.9,
      reasoning: 'The update went through.',
    },
  ],
};

/** The guard and executor for multiStep: the answer approved, the lookup and the update succeed. */
const multiStepResponder = (e: WardenEvent) =>
  approveAnswer(e) ??
  succeed(
    e,
    e.type === 'ActionProposed' && e.data.tool === 'customers.query'
      ? { rows: [{ id: 'c-42', status: 'inactive' }], total: 1 }
      : { matched: 1, modified: 1 },
  );

const readThenAnswer = {
  id: 'planner-read',
  description: 'read a file, then answer',
  steps: [
    {
      kind: 'tool_call',
      name: 'files.read',
      arguments: { path: '/exports/orders.csv' },
      confidence: 0.9,
      reasoning: 'Read it.',
    },
    { kind: 'answer', content: 'Summarised.', confidence: 0.8, reasoning: 'Read.' },
  ],
};

const manyQueries = {
  id: 'planner-many',
  description: 'five different queries, then an answer',
  steps: [1, 2, 3, 4, 5].map((i) => ({
    kind: 'tool_call',
    name: 'customers.query',
    arguments: { collection: 'customers', filter: { id: `c-${i}` } },
    confidence: 0.9,
    reasoning: `Query ${i}.`,
  })),
};

/** Looks up c-1, then c-2, then c-1 again ... (a model going back and forth). */
const backAndForth = {
  id: 'planner-oscillate',
  description: 'alternates between two lookups',
  steps: Array.from({ length: 8 }, (_, i) => ({
    kind: 'tool_call',
    name: 'customers.query',
    arguments: { collection: 'customers', filter: { id: i % 2 === 0 ? 'c-1' : 'c-2' } },
    confidence: 0.9,
    reasoning: `Check ${i % 2 === 0 ? 'c-1' : 'c-2'} again.`,
  })),
};

const answerAtOnce = {
  id: 'planner-answer',
  description: 'answers at once',
  steps: [{ kind: 'answer', content: 'Forty-two. '.repeat(20), confidence: 0.9, reasoning: 'Known.' }],
};

/** Submits a task whose model answers at once, waits for the answer, and has the guard escalate it to a person. */
async function escalatedAnswer(h: Harness, taskId: string) {
  await h.submit(taskId, { model: 'scripted:planner-answer' });
  await h.waitFor(taskId, (es) => es.some((e) => e.type === 'AnswerProposed'), 'the answer');
  const proposal = h.out.messages.find(
    (m) => m.decoded?.event.type === 'AnswerProposed' && m.decoded.event.taskId === taskId,
  )!.decoded!;
  const cause = { envelope: proposal.envelope, hash: proposal.hash };
  const escalation = escalateAnswer(proposal.event)!;
  const [requested] = await h.publisher.publish(follow(cause, escalation.type, escalation.data, { producer: 'test' }));
  return { proposal, cause, escalation, requested: requested! };
}

describe('the planner on the real stack with the scripted model', () => {
  it('runs a multi-step task to TaskCompleted, with a verifiable chain', async () => {
    const h = await harness({ scenarios: [multiStep] });
    h.autopilot(multiStepResponder);
    await h.submit('multi-1', { model: 'scripted:planner-multi' });
    const events = await h.waitFor('multi-1', ended, 'the end of the task');
    const done = ofType(events, 'TaskCompleted');
    expect(done).toHaveLength(1);
    expect(done[0]!.data.answer).toBe('Customer c-42 is active again.');
    expect(done[0]!.data.totals.steps).toBe(3);
    const proposals = ofType(events, 'ActionProposed');
    expect(proposals.map((p) => p.data.tool)).toEqual(['customers.query', 'customers.update']);
    expect(proposals[0]!.data).toMatchObject({ actionId: 'call_q', confidence: { source: 'combined', value: 0.95 } });
    expect(proposals[0]!.data.claims).toEqual([
      { text: 'The task names c-42', evidence: [{ kind: 'task_input', ref: 'customerId' }] },
    ]);
    const responded = ofType(events, 'ModelResponded');
    expect(responded).toHaveLength(3);
    const totalTokens = responded.reduce((t, e) => t + e.data.usage.totalTokens, 0);
    expect(done[0]!.data.totals.usage.totalTokens).toBe(totalTokens);
    // each ModelCalled records the full prompt and its reservation; every step's side events precede its proposal
    const called = ofType(events, 'ModelCalled');
    expect(called[2]!.data.messages.filter((m) => m.role === 'tool')).toHaveLength(2);
    expect(called.every((c, i) => c.data.promptTokens === responded[i]!.data.usage.promptTokens)).toBe(true);
    const envelopes = h.out.messages.flatMap((m) =>
      m.decoded?.event.taskId === 'multi-1' ? [m.decoded.envelope] : [],
    );
    expect(verifyChain(envelopes, 'multi-1').ok).toBe(true);
  });

  it('streams replies when PLANNER_STREAM is on, and counts and charges them like the rest', async () => {
    const h = await harness({ scenarios: [multiStep], env: { PLANNER_STREAM: 'true' } });
    h.autopilot(multiStepResponder);
    await h.submit('stream-1', { model: 'scripted:planner-multi' });
    const events = await h.waitFor('stream-1', ended, 'the end of the task');
    const done = ofType(events, 'TaskCompleted');
    expect(done[0]!.data.answer).toBe('Customer c-42 is active again.');
    expect(ofType(events, 'ActionProposed').map((p) => p.data.tool)).toEqual(['customers.query', 'customers.update']);
    const responded = ofType(events, 'ModelResponded');
    expect(responded).toHaveLength(3);
    const called = ofType(events, 'ModelCalled');
    // the streamed usage is the server's count of the same prompt the planner counted before the call
    expect(responded.every((r, i) => r.data.usage.promptTokens === called[i]!.data.promptTokens)).toBe(true);
    expect(responded.every((r) => r.data.usage.completionTokens > 0 && r.data.costUsd > 0)).toBe(true);
    const totalTokens = responded.reduce((t, e) => t + e.data.usage.totalTokens, 0);
    expect(done[0]!.data.totals.usage.totalTokens).toBe(totalTokens);
    // the task's budget (in its state, ADR 0031) counts each call at its usage: each reservation adds to what the
    // calls before it used
    const reserved = ofType(events, 'BudgetReserved');
    expect(reserved).toHaveLength(3);
    reserved.forEach((r, i) => {
      const before = responded.slice(0, i).reduce((t, e) => t + e.data.usage.totalTokens, 0);
      expect(r.data.taskUsed.tokens).toBe(before + r.data.tokens);
    });
  });

  it('plays a scripted run longer than the context window in order (the window drops turns, not steps)', async () => {
    const long = {
      id: 'planner-long',
      description: 'seven lookups, then an answer',
      steps: [
        ...Array.from({ length: 7 }, (_, i) => ({
          kind: 'tool_call',
          name: 'customers.query',
          arguments: { collection: 'customers', filter: { id: `c-${i + 1}` } },
          confidence: 0.9,
          reasoning: `Look up c-${i + 1}.`,
        })),
        { kind: 'answer', content: 'All seven looked up.', confidence: 0.9, reasoning: 'Done.' },
      ],
    };
    const h = await harness({ scenarios: [long], env: { PLANNER_WINDOW_TURNS: '2' } });
    h.autopilot(
      (e) =>
        approveAnswer(e) ??
        (e.type === 'ActionProposed'
          ? succeed(e, { rows: [{ id: (e.data.args as { filter: { id: string } }).filter.id }], total: 1 })
          : undefined),
    );
    await h.submit('long-1', { model: 'scripted:planner-long' });
    const events = await h.waitFor('long-1', ended, 'the end of the task', 60_000);
    const ids = ofType(events, 'ActionProposed').map((p) => (p.data.args as { filter: { id: string } }).filter.id);
    expect(ids).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-7']);
    // the window really dropped turns: the last prompt holds 2 of the 7 tool results
    const lastCall = ofType(events, 'ModelCalled').at(-1)!;
    expect(lastCall.data.messages.filter((m) => m.role === 'tool')).toHaveLength(2);
    expect(ofType(events, 'TaskCompleted')[0]!.data.answer).toBe('All seven looked up.');
  });

  it('completes a task when a person approves its answer, only with an approval bound to that answer', async () => {
    const h = await harness({ scenarios: [answerAtOnce] });
    await h.submit('human-1', { model: 'scripted:planner-answer' });
    await h.waitFor('human-1', (es) => es.some((e) => e.type === 'AnswerProposed'), 'the answer');
    const proposal = h.out.messages.find((m) => m.decoded?.event.type === 'AnswerProposed')!.decoded!;
    const cause = { envelope: proposal.envelope, hash: proposal.hash };
    const escalation = escalateAnswer(proposal.event)!;
    await h.publisher.publish(follow(cause, escalation.type, escalation.data, { producer: 'test' }));
    const approve = async (overrides: Parameters<typeof humanApproveAnswer>[1]): Promise<string> => {
      const answer = humanApproveAnswer(proposal.event, overrides)!;
      const [encoded] = await h.publisher.publish(follow(cause, answer.type, answer.data, { producer: 'test' }));
      return encoded!.envelope.id;
    };
    // bound to another answer, then expired, then under a stale policy, then for another escalation, then right:
    // only the last may complete the task; each refusal raises an alert
    const refused = [
      await approve({ argsHash: 'b'.repeat(64) }),
      await approve({ expiresAt: new Date(Date.now() - 1_000).toISOString() }),
      await approve({ policyVersion: 'stale' }),
      await approve({ escalationId: 'human-1:esc:other' }),
    ];
    const right = await approve({});
    // (several decisions on one proposal share a seq, so the usual whole-chain check does not apply here)
    const events = await h.waitFor(
      'human-1',
      (es) =>
        es.some((e) => e.type === 'TaskCompleted') &&
        refused.every((id) => es.some((e) => e.type === 'AlertRaised' && e.causationId === id)),
      'the approved answer and four refusals',
    );
    const done = ofType(events, 'TaskCompleted');
    expect(done).toHaveLength(1);
    expect(done[0]!.causationId).toBe(right);
    expect(done[0]!.data.answer).toBe('Forty-two. '.repeat(20));
    const reasons = refused.map((id) => ofType(events, 'AlertRaised').find((a) => a.causationId === id)!.data);
    expect(reasons.map((a) => a.subject.reason)).toEqual([
      'args_mismatch',
      'decision_expired',
      'policy_mismatch',
      'escalation_unknown',
    ]);
    expect(reasons.every((a) => a.severity === 'critical')).toBe(true);
  });

  it("halts with an alert when the guard's approval is bound to another answer: the task never waits for ever", async () => {
    const h = await harness({ scenarios: [answerAtOnce] });
    h.autopilot((e) => {
      const approval = approveAnswer(e);
      return approval === undefined ? undefined : { ...approval, data: { ...approval.data, argsHash: 'c'.repeat(64) } };
    });
    await h.submit('mismatch-1', { model: 'scripted:planner-answer' });
    const events = await h.waitFor('mismatch-1', ended, 'the task to end');
    const halted = ofType(events, 'TaskHalted');
    expect(
      halted.map((e) => e.data.reasonCode),
      JSON.stringify(events.map((e) => e.type)),
    ).toEqual(['verdict_mismatch']);
    expect(ofType(events, 'AlertRaised').map((e) => e.data.code)).toEqual(['verdict_mismatch']);
    expect(ofType(events, 'EscalationRequested')).toHaveLength(1);
    expect(ofType(events, 'TaskCompleted')).toHaveLength(0);
    expect(
      verifyChain(h.out.messages.flatMap((m) => (m.decoded?.event.taskId === 'mismatch-1' ? [m.decoded.envelope] : [])))
        .ok,
    ).toBe(true);
  });

  it('refuses an answer longer than PLANNER_MAX_ANSWER_CHARS instead of cutting it into a completion', async () => {
    const h = await harness({ scenarios: [answerAtOnce], env: { PLANNER_MAX_ANSWER_CHARS: '50' } });
    h.autopilot(approveAnswer);
    await h.submit('long-answer-1', { model: 'scripted:planner-answer' });
    const events = await h.waitFor('long-answer-1', ended, 'the task to end');
    const failures = ofType(events, 'ModelFailed');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((e) => e.data.errorClass === 'answer_too_long')).toBe(true);
    expect(failures[0]!.data.message).toMatch(/220 characters, more than the 50 allowed/);
    expect(ofType(events, 'AnswerProposed')).toHaveLength(0);
    expect(ofType(events, 'TaskCompleted')).toHaveLength(0);
    expect(ofType(events, 'TaskHalted').map((e) => e.data.reasonCode)).toEqual(['task_breaker_open']);
  });

  it('counts only a decision signed with a trusted Ed25519 key, for its own task', async () => {
    const h = await harness({ scenarios: [answerAtOnce] });
    const { proposal, cause } = await escalatedAnswer(h, 'signed-1');
    const intruder = generateSigningKeyPair(testDecisionKeys.signingKey.keyId);
    const decide = async (sign: 'none' | 'other-task' | 'other-key' | 'right'): Promise<string> => {
      const { data } = humanApproveAnswer(proposal.event, {}, false)!;
      const unsigned = data as EventData<'HumanApproved'>;
      const signature =
        sign === 'none'
          ? {}
          : {
              signature: signDecision(
                'HumanApproved',
                sign === 'other-task' ? 'another-task' : 'signed-1',
                'tenant-a',
                unsigned,
                sign === 'other-key' ? intruder.signingKey : testDecisionKeys.signingKey,
              ),
            };
      const [encoded] = await h.publisher.publish(
        follow(cause, 'HumanApproved', { ...data, ...signature }, { producer: 'test' }),
      );
      return encoded!.envelope.id;
    };
    await decide('none');
    await decide('other-task');
    await decide('other-key');
    const right = await decide('right');
    const events = await h.waitFor(
      'signed-1',
      (es) => es.some((e) => e.type === 'TaskCompleted') && ofType(es, 'AlertRaised').length === 3,
      'the signed approval',
    );
    const done = ofType(events, 'TaskCompleted');
    expect(done).toHaveLength(1);
    expect(done[0]!.causationId).toBe(right);
    expect(ofType(events, 'AlertRaised').map((a) => a.data.subject.reason)).toEqual([
      'decision_unauthenticated',
      'decision_unauthenticated',
      'decision_unauthenticated',
    ]);
  });

  it('fails closed: without decision keys a signed approval does not count', async () => {
    const h = await harness({ scenarios: [answerAtOnce], env: { WARDEN_DECISION_PUBLIC_KEYS: '' } });
    const { proposal, cause } = await escalatedAnswer(h, 'nokeys-1');
    const approval = humanApproveAnswer(proposal.event)!;
    await h.publisher.publish(follow(cause, approval.type, approval.data, { producer: 'test' }));
    const events = await h.waitFor('nokeys-1', (es) => ofType(es, 'AlertRaised').length === 1, 'the refusal');
    expect(ofType(events, 'AlertRaised')[0]!.data.message).toMatch(/no_keys/);
    expect(ofType(events, 'TaskCompleted')).toHaveLength(0);
  });

  it('halts the task with its partial result when the escalation it waits on expires', async () => {
    const h = await harness({ scenarios: [answerAtOnce] });
    const { escalation, requested } = await escalatedAnswer(h, 'expiry-1');
    await h.publisher.publish(
      follow(
        { envelope: requested.envelope, hash: requested.hash },
        'EscalationExpired',
        {
          escalationId: escalation.data.escalationId,
          actionId: escalation.data.answer!.actionId,
          expiresAt: escalation.data.expiresAt,
        },
        { producer: 'test' },
      ),
    );
    const events = await h.waitFor('expiry-1', ended, 'the halt');
    const halted = ofType(events, 'TaskHalted')[0]!;
    expect(halted.data).toMatchObject({ reasonCode: 'escalation_expired', escalationId: escalation.data.escalationId });
    expect(halted.data.partial.why).toMatch(/expired/);
    expect(ofType(events, 'AlertRaised').map((a) => a.data.code)).toEqual(['escalation_expired']);
    expect(ofType(events, 'TaskCompleted')).toHaveLength(0);
  });

  it('catches an oscillation between two calls: LoopDetected (oscillation), alert, escalation, halt', async () => {
    // repeated-success and no-progress limits relaxed so that the oscillation is what fires
    const h = await harness({
      scenarios: [backAndForth],
      env: { PLANNER_LOOP_REPEATED_SUCCESSES: '10', PLANNER_LOOP_NO_PROGRESS_STEPS: '50' },
    });
    h.autopilot((e) =>
      e.type === 'ActionProposed'
        ? succeed(e, { rows: [{ id: (e.data.args as { filter: { id: string } }).filter.id }], total: 1 })
        : undefined,
    );
    await h.submit('osc-1', { model: 'scripted:planner-oscillate' });
    const events = await h.waitFor('osc-1', ended, 'the halt');
    // 3 cycles of (c-1, c-2): the sixth result completes the pattern
    expect(ofType(events, 'ToolSucceeded')).toHaveLength(6);
    expect(ofType(events, 'LoopDetected')[0]!.data).toMatchObject({ kind: 'oscillation', count: 3 });
    expect(ofType(events, 'AlertRaised')[0]!.data.code).toBe('loop_detected');
    expect(ofType(events, 'EscalationRequested')[0]!.data.reasonCode).toBe('loop_detected');
    const halted = ofType(events, 'TaskHalted')[0]!;
    expect(halted.data.reasonCode).toBe('loop_detected');
    expect(halted.data.partial.done).toHaveLength(6);
  });

  it('halts after K steps that bring no new information: LoopDetected (no_progress)', async () => {
    const h = await harness({ scenarios: [manyQueries], env: { PLANNER_LOOP_NO_PROGRESS_STEPS: '3' } });
    // five different lookups, every one answering the same empty result
    h.autopilot((e) => (e.type === 'ActionProposed' ? succeed(e, { rows: [], total: 0 }) : undefined));
    await h.submit('stale-1', { model: 'scripted:planner-many' });
    const events = await h.waitFor('stale-1', ended, 'the halt');
    // the first result is new; the 2nd, 3rd and 4th were seen before
    expect(ofType(events, 'ToolSucceeded')).toHaveLength(4);
    expect(new Set(ofType(events, 'ActionProposed').map((p) => p.data.argsHash)).size).toBe(4);
    expect(ofType(events, 'LoopDetected')[0]!.data).toMatchObject({ kind: 'no_progress', count: 3 });
    expect(ofType(events, 'TaskHalted')[0]!.data.reasonCode).toBe('loop_detected');
  });

  it('catches the same failing call within its limit: LoopDetected, alert, escalation, partial result', async () => {
    const h = await harness({});
    h.autopilot((e) => fail(e));
    await h.submit('loop-1', {
      model: 'scripted:retry-loop',
      scope: { tools: ['http.get'], resources: { hosts: ['status.example.com'] } },
      risk: { onMagnitudeExceeded: 'escalate', maxConsecutiveFailures: 5 },
    });
    const events = await h.waitFor('loop-1', ended, 'the halt');
    expect(ofType(events, 'ToolFailed')).toHaveLength(2);
    expect(ofType(events, 'LoopDetected')[0]!.data).toMatchObject({
      kind: 'repeated_failure',
      tool: 'http.get',
      count: 2,
    });
    expect(ofType(events, 'AlertRaised')[0]!.data.code).toBe('loop_detected');
    const escalation = ofType(events, 'EscalationRequested')[0]!;
    expect(escalation.data.source).toBe('planner');
    const halted = ofType(events, 'TaskHalted')[0]!;
    expect(halted.data).toMatchObject({ reasonCode: 'loop_detected', escalationId: escalation.data.escalationId });
    expect(halted.data.partial.notDone.length).toBeGreaterThan(0);
    expect(events.at(-1)!.type).toBe('TaskHalted');
  });

  it('halts a task before its token budget is exceeded', async () => {
    const h = await harness({ scenarios: [manyQueries], env: { PLANNER_MAX_COMPLETION_TOKENS: '200' } });
    h.autopilot((e) => succeed(e, { rows: [], total: 0 }));
    await h.submit('budget-1', {
      model: 'scripted:planner-many',
      budgets: { maxTokens: 2_600, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    const events = await h.waitFor('budget-1', ended, 'the halt');
    const used = ofType(events, 'ModelResponded').reduce((t, e) => t + e.data.usage.totalTokens, 0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(2_600);
    expect(ofType(events, 'BudgetExhausted')[0]!.data).toMatchObject({ budget: 'tokens', limit: 2_600 });
    expect(ofType(events, 'TaskHalted')[0]!.data.reasonCode).toBe('budget_exhausted');
    expect(ofType(events, 'AlertRaised')[0]!.data.code).toBe('budget_exhausted');
  });

  it('never overspends a tenant budget with two planner replicas', async () => {
    const limit = 5_000;
    const h = await harness({
      scenarios: [answerAtOnce],
      replicas: 2,
      // allowances of about two calls each (ADR 0031): both replicas hold some of the tenant at once, and refill
      env: {
        PLANNER_MAX_COMPLETION_TOKENS: '300',
        PLANNER_TENANT_LEASE_TOKENS: '1500',
        PLANNER_TENANT_LEASE_IDLE_MS: '200',
      },
      tenantOverrides: { 'tenant-b': { tokens: limit, costUsd: 100 } },
    });
    const ids = Array.from({ length: 10 }, (_, i) => `tenant-${i}`);
    await Promise.all(ids.map((id) => h.submit(id, { model: 'scripted:planner-answer' }, 'tenant-b')));
    const settled = (es: WardenEvent[]) =>
      es.some((e) => e.type === 'AnswerProposed' || e.type === 'TaskHalted') &&
      es.length === Math.max(...es.map((e) => e.seq)) + 1;
    await h.out.waitFor(() => ids.every((id) => settled(h.taskEvents(id))), 60_000, 'every task answered or halted');
    const all = ids.flatMap((id) => h.taskEvents(id));
    const used = ofType(all, 'ModelResponded').reduce((t, e) => t + e.data.usage.totalTokens, 0);
    const answered = ofType(all, 'AnswerProposed').length;
    const refused = ofType(all, 'BudgetExhausted');
    expect(used).toBeLessThanOrEqual(limit);
    expect(answered).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.data.budget === 'tenant_tokens')).toBe(true);
    expect(answered + refused.length).toBe(ids.length);
    const budgets = tenantBudgetLogOf(testKafka(stack()), h.config.topicPrefix);
    await budgets.start();
    try {
      // idle allowances go back, charged what their calls used: nothing left blocking the tenant
      await waitUntil(async () => (await budgets.figures('tenant-b')).committed.tokens === used, {
        timeoutMs: 30_000,
        what: "the replicas' allowances given back",
      });
      expect((await budgets.figures('tenant-b')).used.tokens).toBe(used);
    } finally {
      await budgets.stop();
    }
  });

  it('keeps a 100 times larger tool output within twice the tokens of a small one', async () => {
    const h = await harness({ scenarios: [readThenAnswer], env: { PLANNER_TOOL_OUTPUT_MAX_TOKENS: '400' } });
    const line = 'order ord_7731: customer cus_1042 paid 42.50 USD on 2024-03-02; status refunded.\n';
    h.autopilot(
      (e) => approveAnswer(e) ?? succeed(e, { content: line.repeat(e.taskId === 'small' ? 20 : 2_000), sizeBytes: 1 }),
    );
    await h.submit('small', {
      model: 'scripted:planner-read',
      scope: { tools: ['files.read'], resources: { paths: ['/exports/**'] } },
    });
    await h.submit('large', {
      model: 'scripted:planner-read',
      scope: { tools: ['files.read'], resources: { paths: ['/exports/**'] } },
    });
    const small = await h.waitFor('small', ended, 'small done');
    const large = await h.waitFor('large', ended, 'large done');
    const second = (es: WardenEvent[]) => ofType(es, 'ModelResponded')[1]!.data.usage.promptTokens;
    expect(second(large)).toBeLessThanOrEqual(2 * second(small));
    expect(ofType(large, 'TaskCompleted')).toHaveLength(1);
  });

  it('gets through a storm of 429 and 500 answers with retries, recording the failed call', async () => {
    const h = await harness({ env: { PLANNER_MODEL_MAX_RETRIES: '3' } });
    h.autopilot((e) => approveAnswer(e));
    await h.submit('storm-1', { model: 'scripted:rate-limit-storm' });
    const events = await h.waitFor('storm-1', ended, 'the end of the task');
    const failed = ofType(events, 'ModelFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ errorClass: 'server_error', attempts: 4 });
    expect(ofType(events, 'ModelResponded')[0]!.data.attempts).toBe(2);
    expect(ofType(events, 'TaskCompleted')).toHaveLength(1);
  });

  it('never passes bad output on: empty answers open the task breaker', async () => {
    const h = await harness({});
    await h.submit('empty-1', { model: 'scripted:empty-answer' });
    const events = await h.waitFor('empty-1', ended, 'the halt');
    expect(ofType(events, 'ModelFailed').map((e) => e.data.errorClass)).toEqual([
      'empty_answer',
      'empty_answer',
      'empty_answer',
    ]);
    expect(ofType(events, 'AnswerProposed')).toHaveLength(0);
    expect(ofType(events, 'BreakerOpened')[0]!.data).toMatchObject({ scope: 'task', consecutiveFailures: 3 });
    expect(ofType(events, 'AlertRaised')[0]!.data.code).toBe('task_breaker_open');
    expect(ofType(events, 'TaskHalted')[0]!.data.reasonCode).toBe('task_breaker_open');
  });

  it('fails closed on a model without a price', async () => {
    const h = await harness({
      env: { PLANNER_PRICES: JSON.stringify([{ model: 'gpt-4o', inputUsdPerMTok: 1, outputUsdPerMTok: 1 }]) },
    });
    await h.submit('price-1', { model: 'scripted:refund-happy' });
    const events = await h.waitFor('price-1', ended, 'the failure');
    expect(ofType(events, 'ModelFailed')[0]!.data.errorClass).toBe('price_unknown');
    expect(ofType(events, 'ModelCalled')).toHaveLength(0);
    expect(ofType(events, 'TaskFailed')[0]!.data.reasonCode).toBe('price_unknown');
  });
});
