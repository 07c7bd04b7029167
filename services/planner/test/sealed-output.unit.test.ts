import {
  canonicalHash,
  ERASED_VALUE,
  MemorySubjectKeyStore,
  openSealed,
  sealValue,
  type EventData,
  type JsonValue,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import type { HandlerContext } from '@warden/runtime';
import { demoTools } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import {
  advance,
  evolve,
  initialState,
  o200kCounter,
  type Fact,
  type ModelClient,
  type ModelReply,
  type PlannerDeps,
  type TaskState,
} from '../src/index.js';

const window = { lastTurns: 4, toolOutputMaxTokens: 1_000, summaryMaxTokens: 400 };
const limits = { maxTokens: 100_000, maxCostUsd: 5, maxSteps: 10, maxWallTimeMs: 600_000, maxConsecutiveFailures: 3 };
let n = 0;
const fact = <T extends Fact['type']>(type: T, data: EventData<T>): Fact => ({ id: `ev-${++n}`, type, data }) as Fact;

/** A task that looked customer cus_1 up: the executor sealed the row's name and e-mail under the subject's key. */
async function lookedUp(keys: MemorySubjectKeyStore): Promise<TaskState> {
  const task = sampleTask({
    scope: {
      tools: ['customers.query', 'email.send'],
      resources: { collections: ['customers'], paths: [], hosts: [], recipients: ['*@example.com'] },
    },
  });
  let s = initialState({
    eventId: 'submitted',
    taskId: 't1',
    tenantId: 'tenant-a',
    model: 'scripted:x',
    task: task as EventData<'TaskSubmitted'>,
    startedAtMs: Date.now(),
    limits,
  });
  const opts = { tokens: o200kCounter, window };
  const args = { collection: 'customers', filter: { id: 'cus_1' } };
  s = evolve(
    s,
    fact('ModelResponded', {
      callId: 'c0',
      model: 'scripted:x',
      content: '{"reasoning":"look the customer up","confidence":0.9}',
      reasoning: null,
      toolCalls: [{ id: 'q1', name: 'customers__query', arguments: JSON.stringify(args) }],
      finishReason: 'tool_calls',
      usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
      costUsd: 0.0001,
      durationMs: 1,
      attempts: 1,
      logprobConfidence: null,
    }),
    opts,
  );
  s = evolve(
    s,
    fact('ActionProposed', {
      actionId: 'q1',
      step: 1,
      tool: 'customers.query',
      args,
      argsHash: canonicalHash(args),
      reasoning: 'look the customer up',
      confidence: { value: 0.9, source: 'structured' },
      claims: [],
    }),
    opts,
  );
  const subject = 'tenant-a:cus_1';
  const row = {
    id: 'cus_1',
    name: await sealValue(keys, subject, 'Ada Lovelace'),
    email: await sealValue(keys, subject, 'ada@example.com'),
  };
  return evolve(
    s,
    fact('ToolSucceeded', {
      actionId: 'q1',
      tool: 'customers.query',
      effectKey: 't1:q1',
      result: { rows: [row], total: 1 },
      durationMs: 1,
    }),
    opts,
  );
}

function depsFor(keys: MemorySubjectKeyStore, reply: Omit<ModelReply, 'usage' | 'attempts' | 'durationMs'>) {
  const shown: string[] = [];
  const model: ModelClient = {
    complete: (request) => {
      shown.push(JSON.stringify(request.messages));
      return Promise.resolve({ ...reply, usage: null, attempts: 1, durationMs: 1 });
    },
    isOpen: () => false,
    close: () => undefined,
  };
  const deps: PlannerDeps = {
    model,
    tools: demoTools,
    budgets: {
      reserve: (r) => Promise.resolve({ ok: true, hold: r, remainingMicroUsd: r.limit.microUsd }),
      settle: () => Promise.resolve(),
    },
    tokens: o200kCounter,
    prices: [{ model: 'scripted:*', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 }],
    loops: { maxRepeatedFailures: 2, maxRepeatedSuccesses: 3, oscillationCycles: 3, maxStepsWithoutNewInfo: 6 },
    window,
    maxCompletionTokens: 1_000,
    maxAnswerChars: 20_000,
    tenantLimit: () => ({ tokens: 1_000_000, costUsd: 100 }),
    openTools: () => new Set(),
    escalationTtlMs: 60_000,
    policyVersion: 'p',
    now: () => new Date(),
    redact: (v) => v,
    sealing: { keys, patterns: [/[\w.]+@example\.org/u] },
  };
  return { deps, shown };
}

/** Runs the planner one move on the state; the events it published (type and data). */
async function move(state: TaskState, deps: PlannerDeps): Promise<{ type: string; data: JsonValue }[]> {
  const published: { type: string; data: JsonValue }[] = [];
  const publish = ((type: string, data: JsonValue) => {
    published.push({ type, data });
    return Promise.resolve({ envelope: { id: `pub-${++n}` } });
  }) as unknown as HandlerContext['publish'];
  await advance(state, deps, { publish, signal: new AbortController().signal });
  return published;
}

const CLEAR = ['ada@example.com', 'ada lovelace', 'bob@example.org'];
const holdsClear = (value: unknown): boolean => {
  const text = JSON.stringify(value).toLowerCase();
  return CLEAR.some((c) => text.includes(c));
};

describe("the model's output repeating personal data it was shown (ADR 0026)", () => {
  it('is published sealed: the tool call, the proposal and the model reply; opening them gives what the model wrote', async () => {
    const keys = new MemorySubjectKeyStore();
    const state = await lookedUp(keys);
    const args = {
      to: ['Ada@Example.com'],
      subject: 'Your refund',
      body: 'Dear Ada Lovelace, your refund is on its way. Copy to bob@example.org.',
    };
    const content = JSON.stringify({
      reasoning: 'write to ada@example.com as the lookup said',
      confidence: 0.9,
      claims: [{ text: "Ada Lovelace's address is ada@example.com", evidence: [{ kind: 'tool_result', ref: 'q1' }] }],
    });
    const { deps, shown } = depsFor(keys, {
      content,
      reasoning: null,
      toolCalls: [{ id: 'm1', name: 'email__send', arguments: JSON.stringify(args) }],
      finishReason: 'tool_calls',
      logprobConfidence: null,
    });
    const published = await move(state, deps);
    expect(
      published.map((e) => e.type),
      JSON.stringify(published.find((e) => e.type === 'ModelFailed')),
    ).toEqual(['ModelCalled', 'BudgetReserved', 'ModelResponded', 'ActionProposed']);
    expect(shown[0]).toContain('ada@example.com'); // the model was shown the clear values
    for (const e of published) expect(holdsClear(e.data), `${e.type}: ${JSON.stringify(e.data)}`).toBe(false);

    const proposal = published[3]!.data as EventData<'ActionProposed'>;
    expect(proposal.argsHash).toBe(canonicalHash(proposal.args)); // bound to the args as the event holds them
    expect(await openSealed(keys, proposal.args)).toEqual(args);
    expect(await openSealed(keys, proposal.reasoning)).toBe('write to ada@example.com as the lookup said');
    expect(await openSealed(keys, proposal.claims[0]!.text)).toBe("Ada Lovelace's address is ada@example.com");
    const responded = published[2]!.data as EventData<'ModelResponded'>;
    expect(await openSealed(keys, responded.content)).toBe(content);
    expect(await openSealed(keys, JSON.parse(responded.toolCalls[0]!.arguments) as JsonValue)).toEqual(args);
    // the text around what is sealed stays readable
    expect(JSON.stringify(proposal.args)).toContain('your refund is on its way');

    // erasing the subject erases what the model repeated; the pattern's match is under the tenant's key
    await keys.erase('tenant-a:cus_1');
    expect(await openSealed(keys, proposal.args)).toEqual({
      to: [ERASED_VALUE],
      subject: 'Your refund',
      body: `Dear ${ERASED_VALUE}, your refund is on its way. Copy to bob@example.org.`,
    });
  });

  it('seals the answer, and the same output seals to the same bytes (args hashes compare across proposals)', async () => {
    const keys = new MemorySubjectKeyStore();
    const state = await lookedUp(keys);
    const answer = 'Ada Lovelace (ada@example.com) was told.';
    const reply = {
      content: JSON.stringify({ answer, reasoning: 'done', confidence: 0.9, claims: [] }),
      reasoning: null,
      toolCalls: [],
      finishReason: 'stop',
      logprobConfidence: null,
    };
    const first = await move(state, depsFor(keys, reply).deps);
    const again = await move(state, depsFor(keys, reply).deps);
    const proposed = first.find((e) => e.type === 'AnswerProposed')!.data as EventData<'AnswerProposed'>;
    expect(holdsClear(first.map((e) => e.data))).toBe(false);
    expect(await openSealed(keys, proposed.answer)).toBe(answer);
    expect((again.find((e) => e.type === 'AnswerProposed')!.data as EventData<'AnswerProposed'>).answer).toBe(
      proposed.answer,
    );
  });

  it('without sealing the output goes out as the model wrote it (what the old planner did)', async () => {
    const keys = new MemorySubjectKeyStore();
    const state = await lookedUp(keys);
    const { deps } = depsFor(keys, {
      content: JSON.stringify({ answer: 'Ada Lovelace was told.', reasoning: 'r', confidence: 0.9, claims: [] }),
      reasoning: null,
      toolCalls: [],
      finishReason: 'stop',
      logprobConfidence: null,
    });
    const { sealing: _, ...unsealed } = deps;
    expect(holdsClear((await move(state, unsealed)).map((e) => e.data))).toBe(true);
  });
});
