import {
  answerHash,
  follow,
  generateSigningKeyPair,
  newTask,
  signDecision,
  type DecodedEvent,
  type EventData,
  type EventDataInput,
  type EventType,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import type { Worker, WorkerRuntimeConfig } from '@warden/runtime';
import { EventCollector, startTestPublisher, testWorkerConfig, type TestPublisher } from '@warden/runtime/testing';
import { startScriptedModel, type StartedScriptedModel } from '@warden/scripted-model/testing';
import { stack } from '../../../test/support/index.js';
import { createPlannerWorker, loadPlannerConfig, type PlannerSettings } from '../src/index.js';

type ScenarioInputs = NonNullable<Parameters<typeof startScriptedModel>[0]>['scenarios'];

/** What a fake guard/executor answers to a proposal: an event type and its data, or nothing. */
export type Responder = (proposal: WardenEvent) => { type: EventType; data: unknown } | undefined;

/** The planner on the real stack with a scripted model, a collector and a fake guard/executor. */
export interface Harness {
  readonly config: WorkerRuntimeConfig;
  readonly settings: PlannerSettings;
  readonly model: StartedScriptedModel;
  readonly workers: Worker[];
  readonly publisher: TestPublisher;
  readonly out: EventCollector;
  submit(taskId: string, overrides?: Partial<EventDataInput<'TaskSubmitted'>>, tenantId?: string): Promise<void>;
  /** Answers every new proposal with `respond` until close. */
  autopilot(respond: Responder): void;
  taskEvents(taskId: string): WardenEvent[];
  waitFor(
    taskId: string,
    predicate: (events: WardenEvent[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<WardenEvent[]>;
  close(): Promise<void>;
}

/** Starts a scripted model, `replicas` planner workers (one consumer group), a publisher and a collector. */
export async function startHarness(options: {
  scenarios?: ScenarioInputs;
  env?: Record<string, string>;
  replicas?: number;
  tenantOverrides?: PlannerSettings['tenantOverrides'];
}): Promise<Harness> {
  const model = await startScriptedModel({ scenarios: options.scenarios ?? [] });
  const loaded = loadPlannerConfig({
    OPENAI_BASE_URL: model.baseURL,
    PLANNER_MODEL_RETRY_BASE_MS: '5',
    PLANNER_MODEL_RETRY_MAX_MS: '100',
    PLANNER_MODEL_TIMEOUT_MS: '10000',
    WARDEN_DECISION_PUBLIC_KEYS: testDecisionKeys.verifyingKeyText,
    ...options.env,
  });
  const settings: PlannerSettings = { ...loaded.settings, tenantOverrides: options.tenantOverrides ?? {} };
  const { decisionTrust } = loaded.runtime;
  const config = testWorkerConfig(stack(), {
    logLevel: 'error',
    ...(decisionTrust === undefined ? {} : { decisionTrust }),
  });
  const workers: Worker[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++) workers.push(createPlannerWorker({ runtime: config, settings }));
  await Promise.all(workers.map((w) => w.start()));
  const publisher = await startTestPublisher(config);
  const kinds = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'];
  const out = await EventCollector.start(
    stack(),
    kinds.map((k) => `${config.topicPrefix}.${k}.v1`),
    config.mongoDb,
  );
  let running = true;
  const loops: Promise<void>[] = [];
  const decoded = (): DecodedEvent[] => out.messages.flatMap((m) => (m.decoded === undefined ? [] : [m.decoded]));
  const taskEvents = (taskId: string): WardenEvent[] =>
    decoded()
      .map((d) => d.event)
      .filter((e) => e.taskId === taskId)
      .sort((a, b) => a.seq - b.seq);
  return {
    config,
    settings,
    model,
    workers,
    publisher,
    out,
    async submit(taskId, overrides = {}, tenantId = 'tenant-a') {
      const goal = `${overrides.goal ?? 'Do the thing'} (task ${taskId})`;
      await publisher.publish(newTask(sampleTask({ ...overrides, goal }), { tenantId, taskId, producer: 'test' }));
    },
    autopilot(respond) {
      const seen = new Set<string>();
      loops.push(
        (async () => {
          while (running) {
            for (const d of decoded()) {
              const e = d.event;
              if ((e.type !== 'ActionProposed' && e.type !== 'AnswerProposed') || seen.has(e.id)) continue;
              seen.add(e.id);
              const answer = respond(e);
              if (answer === undefined) continue;
              await publisher.publish(
                follow({ envelope: d.envelope, hash: d.hash }, answer.type, answer.data as never, { producer: 'test' }),
              );
            }
            await new Promise((r) => setTimeout(r, 25));
          }
        })(),
      );
    },
    taskEvents,
    async waitFor(taskId, predicate, what, timeoutMs = 45_000) {
      await out.waitFor(() => predicate(taskEvents(taskId)), timeoutMs, `${what} (task ${taskId})`);
      return taskEvents(taskId);
    },
    async close() {
      running = false;
      await Promise.all(loops);
      for (const w of workers) await w.close().catch(() => undefined);
      await publisher.close().catch(() => undefined);
      await out.close().catch(() => undefined);
      await model.close();
    },
  };
}

const HASH = 'a'.repeat(64);

/** The guard approving an answer (proposalKind "answer"). */
export function approveAnswer(
  e: WardenEvent,
): { type: 'ActionApproved'; data: EventDataInput<'ActionApproved'> } | undefined {
  if (e.type !== 'AnswerProposed') return undefined;
  return {
    type: 'ActionApproved',
    data: {
      proposalEventId: e.id,
      proposalKind: 'answer',
      actionId: e.data.actionId,
      rulesEvaluated: [],
      ruleFired: null,
      reasonCode: 'allowed',
      policyVersion: 'test',
      inputHashes: { proposal: HASH, state: HASH, policy: HASH },
      tool: null,
      args: null,
      argsHash: answerHash(e.data.answer, e.data.output),
    },
  };
}

/** The test's decision-signing keys (the escalation service's role); the harness trusts their public key. */
export const testDecisionKeys = generateSigningKeyPair('test-escalation');

/** The guard escalating an answer to a person (escalationId `<task>:esc:<action>`), until an hour from now. */
export function escalateAnswer(
  e: WardenEvent,
): { type: 'EscalationRequested'; data: EventDataInput<'EscalationRequested'> } | undefined {
  if (e.type !== 'AnswerProposed') return undefined;
  const argsHash = answerHash(e.data.answer, e.data.output);
  return {
    type: 'EscalationRequested',
    data: {
      escalationId: `${e.taskId}:esc:${e.data.actionId}`,
      source: 'guard',
      reasonCode: 'low_confidence',
      reason: 'a person must confirm the answer',
      action: null,
      answer: { actionId: e.data.actionId, answer: e.data.answer, argsHash },
      policyVersion: 'test',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
  };
}

/**
 * A person approving an answer (tool null, args {}), bound to `argsHash` (the answer's own by default), signed
 * with testDecisionKeys for the answer's task and tenant unless `sign` is false.
 */
export function humanApproveAnswer(
  e: WardenEvent,
  overrides: Partial<EventData<'HumanApproved'>> = {},
  sign = true,
): { type: 'HumanApproved'; data: EventDataInput<'HumanApproved'> } | undefined {
  if (e.type !== 'AnswerProposed') return undefined;
  const data: EventData<'HumanApproved'> = {
    escalationId: `${e.taskId}:esc:${e.data.actionId}`,
    actionId: e.data.actionId,
    decidedBy: { id: 'ops-ana', kind: 'user', role: 'approver' },
    argsHash: answerHash(e.data.answer, e.data.output),
    policyVersion: 'test',
    expiresAt: new Date(Date.now() + 3_500_000).toISOString(),
    tool: null,
    args: {},
    ...overrides,
  };
  if (!sign) return { type: 'HumanApproved', data };
  const signature = signDecision('HumanApproved', e.taskId, e.tenantId, data, testDecisionKeys.signingKey);
  return { type: 'HumanApproved', data: { ...data, signature } };
}

/** The executor reporting a tool's success with `result`. */
export function succeed(
  e: WardenEvent,
  result: unknown,
): { type: 'ToolSucceeded'; data: EventDataInput<'ToolSucceeded'> } | undefined {
  if (e.type !== 'ActionProposed') return undefined;
  return {
    type: 'ToolSucceeded',
    data: {
      actionId: e.data.actionId,
      tool: e.data.tool,
      effectKey: `${e.taskId}:${e.data.actionId}`,
      result: result,
      durationMs: 3,
    },
  };
}

/** The executor reporting a tool's failure. */
export function fail(e: WardenEvent): { type: 'ToolFailed'; data: EventDataInput<'ToolFailed'> } | undefined {
  if (e.type !== 'ActionProposed') return undefined;
  return {
    type: 'ToolFailed',
    data: {
      actionId: e.data.actionId,
      tool: e.data.tool,
      effectKey: `${e.taskId}:${e.data.actionId}`,
      errorClass: 'tool_error',
      message: 'connect ECONNREFUSED status.example.com:443',
      retryable: true,
      durationMs: 3,
    },
  };
}

/** Events of one type. */
export function ofType<T extends EventType>(events: WardenEvent[], type: T): Extract<WardenEvent, { type: T }>[] {
  return events.filter((e): e is Extract<WardenEvent, { type: T }> => e.type === type);
}
