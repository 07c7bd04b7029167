/**
 * Planner overhead per step without the model's time, and prompt tokens per step as the conversation grows.
 * `node --conditions=@warden/source --import tsx bench/planner-overhead.ts`. In process: an instant fake model,
 * an in-memory budget and publish, the real decide/, context window, tokenizer (o200k) and tool-schema checks. Run
 * twice in the same process: as it is (the baseline), and with each result's name sealed (ADR 0026), opened for the
 * model and sealed again where the model repeats it (an in-memory key store: the cached store's hot path).
 */
import { randomUUID } from 'node:crypto';
import { MemorySubjectKeyStore, Redactor, sealValue, type EventData, type JsonValue } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { demoTools } from '@warden/tools';
import {
  advance,
  evolve,
  initialState,
  o200kCounter,
  type ModelClient,
  type PlannerDeps,
  type PlannerSealing,
  type TaskState,
} from '../services/planner/src/index.js';
import { percentile, report, target } from './support.js';

const STEPS = 60;
const promptTokensPerStep: number[] = [];
let turn = 0;
/** Each run's texts differ (the tokenizer remembers what it counted): no run is measured on another's cache. */
let runNo = 0;
const model: ModelClient = {
  isOpen: () => false,
  close: () => undefined,
  complete: (request) => {
    turn++;
    const args = JSON.stringify({ collection: 'customers', filter: { id: `c-${turn}` } });
    return Promise.resolve({
      // repeats the name the last result gave (sealed in the sealed run)
      content: JSON.stringify({
        reasoning: `Run ${runNo}: after Customer ${turn - 2}, look up c-${turn}.`,
        confidence: 0.9,
      }),
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
    reserve: (r) => Promise.resolve({ ok: true, hold: r, remainingMicroUsd: r.limit.microUsd }),
    settle: () => Promise.resolve(),
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
const initial: TaskState = initialState({
  eventId: 'e0',
  taskId: 'bench',
  tenantId: 'bench',
  model: 'scripted:bench',
  task: task as EventData<'TaskSubmitted'>,
  startedAtMs: Date.parse('2026-01-01T00:00:00Z'),
  limits: { maxTokens: 1e8, maxCostUsd: 1e3, maxSteps: 10_000, maxWallTimeMs: 3_600_000, maxConsecutiveFailures: 5 },
});
const signal = new AbortController().signal;

/** The per-step overhead (µs) of a run of STEPS steps, with sealing or without. */
async function run(sealing: PlannerSealing | undefined): Promise<number[]> {
  const runDeps: PlannerDeps = sealing === undefined ? deps : { ...deps, sealing };
  const samples: number[] = [];
  let state: TaskState = initial;
  turn = 0;
  runNo++;
  promptTokensPerStep.length = 0;
  state = await advance(state, runDeps, { publish, signal });
  for (let i = 0; i < STEPS; i++) {
    const pending = state.pending;
    if (pending?.kind !== 'action') throw new Error(`expected a pending action at step ${i}`);
    const name: JsonValue =
      sealing === undefined ? `Customer ${i}` : await sealValue(sealing.keys, `bench:c-${i}`, `Customer ${i}`);
    const result = {
      rows: [
        {
          id: `c-${i}`,
          name,
          status: 'active',
          note: `Customer asked about order ord_${7000 + i} (run ${runNo}); refund approved on 2024-03-02, 42.50 USD. `.repeat(
            5,
          ),
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
    state = await advance(state, runDeps, { publish, signal });
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return samples;
}

await run(undefined); // warm-up: both measured runs start with a warm JIT
const sealed = await run({ keys: new MemorySubjectKeyStore(), patterns: [] });
const samples = await run(undefined); // the baseline, last: promptTokensPerStep is its own
report('planner step, sealing (the same steps, names sealed and repeated)', sealed.slice(5));
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
  'planner overhead with sealing per step p50 under 20 ms',
  percentile(sealed.slice(5), 50) < 20_000,
  `${(percentile(sealed.slice(5), 50) / 1000).toFixed(2)} ms (baseline ${(percentile(samples.slice(5), 50) / 1000).toFixed(2)} ms)`,
);
target(
  'planner overhead per step p50 under 20 ms',
  percentile(samples.slice(5), 50) < 20_000,
  `${(percentile(samples.slice(5), 50) / 1000).toFixed(2)} ms`,
);
