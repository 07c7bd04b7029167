/**
 * Planner overhead per step without the model's time, and prompt tokens per step as the conversation grows.
 * `node --conditions=@warden/source --import tsx bench/planner-overhead.ts`. In process: an instant fake model,
 * an in-memory budget and publish, the real decide/, context window, tokenizer (o200k) and tool-schema checks.
 */
import { randomUUID } from 'node:crypto';
import { Redactor, type EventData } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { demoTools } from '@warden/tools';
import {
  advance,
  evolve,
  initialState,
  o200kCounter,
  type ModelClient,
  type PlannerDeps,
  type TaskState,
} from '../services/planner/src/index.js';
import { percentile, report, target } from './support.js';

const STEPS = 60;
const promptTokensPerStep: number[] = [];
let turn = 0;
const model: ModelClient = {
  isOpen: () => false,
  close: () => undefined,
  complete: (request) => {
    turn++;
    const args = JSON.stringify({ collection: 'customers', filter: { id: `c-${turn}` } });
    return Promise.resolve({
      content: JSON.stringify({ reasoning: `Look up customer c-${turn}.`, confidence: 0.9 }),
      reasoning: null,
      toolCalls: [{ id: `call_${turn}`, name: 'customers.query', arguments: args }],
      finishReason: 'tool_calls',
      usage: { promptTokens: request.messages.length, completionTokens: 20, totalTokens: request.messages.length + 20 },
      logprobConfidence: 0.9,
      attempts: 1,
      durationMs: 0,
    });
  },
};
const redactor = new Redactor();
const deps: PlannerDeps = {
  model,
  tools: demoTools,
  budgets: {
    reserve: (r) =>
      Promise.resolve({
        ok: true,
        reservation: { reservationId: r.reservationId, tokens: r.tokens, microUsd: r.microUsd, scopes: [] },
        taskCommitted: { tokens: 0, microUsd: 0 },
      }),
    settle: () => Promise.resolve(true),
  },
  tokens: o200kCounter,
  prices: [{ model: 'scripted:*', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 }],
  loops: { maxRepeatedFailures: 2, maxRepeatedSuccesses: 3, oscillationCycles: 3, maxStepsWithoutNewInfo: 1_000 },
  window: { lastTurns: 8, toolOutputMaxTokens: 1_000, summaryMaxTokens: 800 },
  maxCompletionTokens: 1_000,
  maxAnswerChars: 20_000,
  tenantLimit: () => ({ tokens: 1e9, costUsd: 1e6 }),
  openTools: () => new Set(),
  escalationTtlMs: 3_600_000,
  policyVersion: 'bench',
  now: () => new Date('2026-01-01T00:00:10Z'),
  redact: (value) => redactor.redact(value).value,
};
const publish = ((type: string, data: unknown) => {
  if (type === 'ModelCalled') promptTokensPerStep.push((data as EventData<'ModelCalled'>).promptTokens);
  return Promise.resolve({ envelope: { id: randomUUID() }, hash: '0'.repeat(64) });
}) as never;

o200kCounter.count('warm up the tokenizer');
const task = sampleTask({
  budgets: { maxTokens: 100_000_000, maxCostUsd: 1_000, maxSteps: 10_000, maxWallTimeMs: 3_600_000 },
});
let state: TaskState = initialState({
  eventId: 'e0',
  taskId: 'bench',
  tenantId: 'bench',
  model: 'scripted:bench',
  task: task as EventData<'TaskSubmitted'>,
  startedAtMs: Date.parse('2026-01-01T00:00:00Z'),
  limits: { maxTokens: 1e8, maxCostUsd: 1e3, maxSteps: 10_000, maxWallTimeMs: 3_600_000, maxConsecutiveFailures: 5 },
});
const signal = new AbortController().signal;
const samples: number[] = [];
state = await advance(state, deps, { publish, signal });
for (let i = 0; i < STEPS; i++) {
  const pending = state.pending;
  if (pending?.kind !== 'action') throw new Error(`expected a pending action at step ${i}`);
  const result = {
    rows: [
      {
        id: `c-${i}`,
        name: `Customer ${i}`,
        status: 'active',
        note: `Customer ${i} asked about order ord_${7000 + i}; refund approved on 2024-03-02, 42.50 USD. `.repeat(5),
      },
    ],
    total: 1,
  };
  const t = process.hrtime.bigint();
  state = evolve(
    state,
    {
      id: `r${i}`,
      type: 'ToolSucceeded',
      data: { actionId: pending.actionId, tool: pending.tool, effectKey: `bench:${i}`, result, durationMs: 1 },
    },
    { tokens: o200kCounter, window: deps.window },
  );
  state = await advance(state, deps, { publish, signal });
  samples.push(Number(process.hrtime.bigint() - t) / 1000);
}
report('planner step (evolve + window + count + check)', samples.slice(5));
console.log('prompt tokens per step:', promptTokensPerStep.join(' '));
// once the window is full only the running summary grows, until its own budget; from then on the prompt is flat
const tail = promptTokensPerStep.slice(-20);
target(
  'prompt tokens flatten once the window and the summary are full',
  Math.max(...tail) === Math.min(...tail),
  `last 20 calls: ${Math.min(...tail)}..${Math.max(...tail)} tokens; first call ${promptTokensPerStep[0]}`,
);
target(
  'planner overhead per step p50 under 20 ms',
  percentile(samples.slice(5), 50) < 20_000,
  `${(percentile(samples.slice(5), 50) / 1000).toFixed(2)} ms`,
);
