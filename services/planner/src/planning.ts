import { randomUUID } from 'node:crypto';
import {
  MAX_ANSWER_CHARS,
  MAX_CLAIM_TEXT_CHARS,
  MAX_CLAIMS_PER_PROPOSAL,
  MAX_MESSAGE_CHARS,
  MAX_NOTE_CHARS,
  MAX_REASONING_CHARS,
  canonicalHash,
  clipText,
  decodeAnswerContent,
  decodeToolTurnContent,
  openSealed,
  openSealedInText,
  SEALED_FIELD,
  type ChatMessage,
  type JsonValue,
  type SubjectKeyStore,
  type EventData,
  type EventDataInput,
  type EventType,
} from '@warden/contracts';
import type { Span } from '@opentelemetry/api';
import type { HandlerContext, PlannerMetrics } from '@warden/runtime';
import {
  OpenedValues,
  sealRepeated,
  sealRepeatedText,
  sealRepeatedTextWithin,
  toolParametersJsonSchema,
  type RepeatSealing,
  type ToolRegistry,
  type ToolSpec,
} from '@warden/tools';
import {
  costOf,
  priceOf,
  reservationFor,
  taskBudgetOf,
  taskBudgetRefusal,
  toMicroUsd,
  type ModelPrice,
} from './decide/budget.js';
import { buildContext } from './decide/context-window.js';
import { functionNameOf, interpretQueuedCall, interpretReply } from './decide/interpret.js';
import { decideNext, type HaltReason, type NextStep } from './decide/next-step.js';
import { partialResult, totalsOf } from './decide/partial.js';
import { evolve, type EvolveOptions, type Fact } from './decide/state.js';
import type { Interpretation, LoopSettings, TaskState, TokenCounter, WindowSettings } from './decide/types.js';
import { ModelCallError } from './errors.js';
import type { ModelClient, OfferedTool } from './model/model-client.js';
import { endModelSpan, failModelSpan, startModelSpan } from './model/telemetry.js';
import { countCompletionTokens, countPromptTokens } from './model/tokens.js';
import type { TenantBudgets } from './tenant-allowances.js';

/** Everything the planner's handlers need; built once by the worker, faked in tests. */
export interface PlannerDeps {
  readonly model: ModelClient;
  readonly tools: ToolRegistry;
  /** The tenants' budgets, by allowance (ADR 0031); the task's own budget is in its state. */
  readonly budgets: TenantBudgets;
  readonly tokens: TokenCounter;
  readonly prices: readonly ModelPrice[];
  readonly loops: LoopSettings;
  readonly window: WindowSettings;
  /** Largest completion per call (the reservation's bound). */
  readonly maxCompletionTokens: number;
  /** Longest answer accepted; a longer one is refused (bad output), never cut into a completion. */
  readonly maxAnswerChars: number;
  /** Per-tenant budgets (same for every tenant unless overridden). */
  readonly tenantLimit: (tenantId: string) => { tokens: number; costUsd: number };
  /** Tools whose executor breaker is open now: not offered to the model. */
  readonly openTools: () => ReadonlySet<string>;
  readonly escalationTtlMs: number;
  readonly policyVersion: string;
  readonly now: () => Date;
  /**
   * Replaces secrets as the codec does before produce. Everything the planner publishes, hashes or keeps goes
   * through it first, so a hash binds what a reader sees and no secret is kept at rest.
   */
  readonly redact: <T>(value: T) => T;
  /** Agent metrics (tokens, cost, budgets, loops) on the worker's /metrics; none in unit tests. */
  readonly metrics?: PlannerMetrics;
  /**
   * Sealed personal data (ADR 0026): the model gets the clear values (or `[erased]`), while the task's state and
   * everything published (ModelCalled's messages included) keep the sealed form; what the model writes is sealed
   * again before it is published wherever it repeats a value it was shown (under that value's subject) or matches
   * a pattern (under the tenant's key). None: the model gets the text as it is and its output goes out as it is.
   */
  readonly sealing?: PlannerSealing;
}

/** How the planner opens sealed values for the model and seals its output again (ADR 0026). */
export interface PlannerSealing {
  /** The worker's cached subject key store. */
  readonly keys: SubjectKeyStore;
  /** Any other string of the model's output matching one of these is sealed under the tenant's key. */
  readonly patterns: readonly RegExp[];
}

/**
 * The messages as the model gets them: each one's sealed values opened (the published ModelCalled keeps them sealed),
 * each opened value recorded in `opened`: what the model may repeat.
 */
export async function clearMessages(
  messages: readonly ChatMessage[],
  deps: Pick<PlannerDeps, 'sealing'>,
  opened: OpenedValues = new OpenedValues(),
): Promise<readonly ChatMessage[]> {
  const keys = deps.sealing?.keys;
  if (keys === undefined) return messages;
  return Promise.all(
    messages.map(async (m) => {
      const content = m.content === null ? null : await openSealedInText(keys, m.content, opened.record);
      const toolCalls =
        m.toolCalls === undefined
          ? undefined
          : await Promise.all(
              m.toolCalls.map(async (c) => ({ ...c, arguments: await openArguments(keys, c.arguments, opened) })),
            );
      return { ...m, content, ...(toolCalls === undefined ? {} : { toolCalls }) };
    }),
  );
}

/** A tool call's arguments (JSON text) with their sealed pieces opened: JSON strings hold them escaped. */
async function openArguments(keys: SubjectKeyStore, args: string, opened: OpenedValues): Promise<string> {
  if (!args.includes(SEALED_FIELD)) return args;
  try {
    return JSON.stringify(await openSealed(keys, JSON.parse(args) as JsonValue, opened.record));
  } catch {
    return openSealedInText(keys, args, opened.record);
  }
}

/** A tool call's arguments (JSON text, or not) with what the model repeated sealed (sealRepeated). */
async function sealArguments(args: string, how: RepeatSealing): Promise<string> {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(args) as JsonValue;
  } catch {
    return sealRepeatedText(args, how);
  }
  const sealed = await sealRepeated(parsed, how);
  return JSON.stringify(sealed) === JSON.stringify(parsed) ? args : JSON.stringify(sealed);
}

/** What sealing the model's output of a task needs, or undefined when the planner does not seal. */
function repeatSealing(deps: PlannerDeps, tenantId: string, opened: OpenedValues): RepeatSealing | undefined {
  const sealing = deps.sealing;
  if (sealing === undefined || (opened.size === 0 && sealing.patterns.length === 0)) return undefined;
  return { keys: sealing.keys, tenantId, opened, patterns: sealing.patterns };
}

/** A text of the model's output sealed to fit in `maxChars` (sealRepeatedTextWithin); unchanged without sealing. */
const sealedText = (text: string, how: RepeatSealing | undefined, maxChars: number): Promise<string> =>
  how === undefined ? Promise.resolve(text) : sealRepeatedTextWithin(text, how, maxChars);

/** The model's interpretation with what it repeated sealed: args, answer, output, reasoning, claims (ADR 0026). */
async function sealedInterpretation(
  interpretation: Interpretation & { kind: 'action' | 'answer' },
  how: RepeatSealing | undefined,
): Promise<Interpretation & { kind: 'action' | 'answer' }> {
  if (how === undefined) return interpretation;
  const reasoning = await sealedText(interpretation.reasoning, how, MAX_REASONING_CHARS);
  const claims = await Promise.all(
    interpretation.claims.map(async (c) => ({ ...c, text: await sealedText(c.text, how, MAX_CLAIM_TEXT_CHARS) })),
  );
  if (interpretation.kind === 'action') {
    const args = (await sealRepeated(interpretation.args, how)) as typeof interpretation.args;
    return { ...interpretation, args, reasoning, claims };
  }
  return {
    ...interpretation,
    answer: await sealedText(interpretation.answer, how, MAX_ANSWER_CHARS),
    reasoning,
    claims,
  };
}

type Publish = HandlerContext['publish'];

/** Publishes an event and folds it into the state: the state is always what the task's events say. */
class Emitter {
  constructor(
    private state: TaskState,
    private readonly publish: Publish,
    private readonly options: EvolveOptions,
    private readonly redact: PlannerDeps['redact'],
  ) {}

  get current(): TaskState {
    return this.state;
  }

  /** Publishes the redacted data and folds that same data in: the state never holds what the log does not. */
  async emit<T extends EventType>(type: T, data: EventData<T>): Promise<void> {
    const clean = this.redact(data);
    const encoded = await this.publish(type, clean as EventDataInput<T>);
    this.state = evolve(this.state, { id: encoded.envelope.id, type, data: clean } as Fact, this.options);
  }
}

function emitterFor(state: TaskState, publish: Publish, deps: PlannerDeps): Emitter {
  return new Emitter(state, publish, { tokens: deps.tokens, window: deps.window }, deps.redact);
}

const schemaCache = new WeakMap<object, Record<string, unknown>>();
const parametersOf = (spec: ToolSpec): Record<string, unknown> => {
  let schema = schemaCache.get(spec);
  if (schema === undefined) schemaCache.set(spec, (schema = toolParametersJsonSchema(spec)));
  return schema;
};

function offeredTools(state: TaskState, deps: PlannerDeps): { names: string[]; tools: OfferedTool[] } {
  const open = deps.openTools();
  const names = state.scopeTools.filter((t) => deps.tools.has(t) && !open.has(t));
  const tools = names.map((name): OfferedTool => {
    const spec = deps.tools.get(name)!;
    return {
      type: 'function',
      function: {
        name: functionNameOf(name),
        description: spec.description,
        parameters: parametersOf(spec),
      },
    };
  });
  return { names, tools };
}

function actionIdFor(state: TaskState, toolCallId: string): string {
  const used = new Set(state.history.map((r) => r.actionId));
  if (state.pending !== null) used.add(state.pending.actionId);
  const base = /^[A-Za-z0-9._:@/-]{1,180}$/.test(toolCallId) ? toolCallId : `step-${state.steps + 1}`;
  return used.has(base) ? `${base}-s${state.steps + 1}` : base;
}

async function propose(
  e: Emitter,
  clear: Interpretation & { kind: 'action' | 'answer' },
  deps: PlannerDeps,
  opened: OpenedValues,
): Promise<void> {
  const state = e.current;
  const interpretation = await sealedInterpretation(clear, repeatSealing(deps, state.tenantId, opened));
  if (interpretation.kind === 'action') {
    // The hash binds the args as they go on the wire (redacted), which is what the guard and the executor check.
    const args = deps.redact(interpretation.args);
    await e.emit('ActionProposed', {
      actionId: actionIdFor(state, interpretation.toolCallId),
      step: state.steps + 1,
      tool: interpretation.tool,
      args,
      argsHash: canonicalHash(args),
      reasoning: clipText(interpretation.reasoning, MAX_REASONING_CHARS),
      confidence: interpretation.confidence,
      claims: interpretation.claims.slice(0, MAX_CLAIMS_PER_PROPOSAL),
    });
    return;
  }
  await e.emit('AnswerProposed', {
    actionId: `answer-${state.steps + 1}`,
    step: state.steps + 1,
    answer: clipText(interpretation.answer, MAX_ANSWER_CHARS),
    reasoning: clipText(interpretation.reasoning, MAX_REASONING_CHARS),
    confidence: interpretation.confidence,
    claims: interpretation.claims.slice(0, MAX_CLAIMS_PER_PROPOSAL),
  });
}

/** Halts a task: the defence's own event, an alert, a request to a person, then TaskHalted with its partial result. */
async function halt(e: Emitter, reason: HaltReason, deps: PlannerDeps): Promise<void> {
  const s = e.current;
  const resumed = s.resumes === undefined ? '' : `:r${s.resumes}`;
  const escalationId = `${s.taskId}:planner:${s.steps}:${reason.kind}${resumed}`;
  let reasonCode: string;
  let message: string;
  let alertCode: EventData<'AlertRaised'>['code'];
  switch (reason.kind) {
    case 'loop':
      reasonCode = 'loop_detected';
      alertCode = 'loop_detected';
      deps.metrics?.loopDetected(reason.loop.kind);
      message = `loop detected (${reason.loop.kind}): ${reason.loop.message}`;
      await e.emit('LoopDetected', {
        kind: reason.loop.kind,
        ...(reason.loop.tool === undefined ? {} : { tool: reason.loop.tool }),
        ...(reason.loop.argsHash === undefined ? {} : { argsHash: reason.loop.argsHash }),
        count: reason.loop.count,
        message: clipText(reason.loop.message, MAX_NOTE_CHARS),
      });
      break;
    case 'breaker':
      reasonCode = 'task_breaker_open';
      alertCode = 'task_breaker_open';
      message = `${reason.consecutiveFailures} consecutive failures (limit ${reason.limit}): the task's breaker opened`;
      await e.emit('BreakerOpened', {
        scope: 'task',
        name: s.taskId,
        reason: message,
        consecutiveFailures: reason.consecutiveFailures,
      });
      break;
    case 'budget':
      reasonCode = 'budget_exhausted';
      alertCode = 'budget_exhausted';
      message = `budget ${reason.budget} exhausted: limit ${reason.limit}, used ${reason.used}, requested ${reason.requested}`;
      await e.emit('BudgetExhausted', {
        budget: reason.budget,
        limit: reason.limit,
        used: reason.used,
        requested: reason.requested,
      });
      break;
    case 'overrun':
      reasonCode = 'model_overrun';
      alertCode = 'budget_exhausted';
      message = `the model's reply used ${reason.completionTokens} completion tokens, more than the ${reason.maxTokens} the call asked for and reserved: charged, not acted on`;
      await e.emit('BudgetExhausted', {
        budget: 'tokens',
        limit: reason.reservedTokens,
        used: reason.usedTokens,
        requested: 0,
      });
      break;
    case 'mismatch':
      reasonCode = 'verdict_mismatch';
      alertCode = 'verdict_mismatch';
      message = reason.message;
      break;
  }
  await e.emit('AlertRaised', {
    alertId: `${escalationId}:alert`,
    code: alertCode,
    severity: 'critical',
    message: clipText(message, MAX_MESSAGE_CHARS),
    subject: { taskId: s.taskId, tenantId: s.tenantId, reason: reasonCode },
  });
  await e.emit('EscalationRequested', {
    escalationId,
    source: 'planner',
    reasonCode,
    reason: clipText(message, MAX_MESSAGE_CHARS),
    action: null,
    policyVersion: deps.policyVersion,
    expiresAt: new Date(deps.now().getTime() + deps.escalationTtlMs).toISOString(),
  });
  await e.emit('TaskHalted', {
    reasonCode,
    message: clipText(message, MAX_MESSAGE_CHARS),
    partial: partialResult(e.current, message),
    totals: totalsOf(e.current),
    escalationId,
  });
}

/** Budget refusal → halt with BudgetExhausted of that budget. */
function budgetHalt(refusal: {
  budget: EventData<'BudgetExhausted'>['budget'];
  limit: number;
  used: number;
  requested: number;
}): HaltReason {
  return {
    kind: 'budget',
    budget: refusal.budget,
    limit: refusal.limit,
    used: refusal.used,
    requested: refusal.requested,
  };
}

/**
 * One model call: context, price (unknown: fail closed), reservation (refused: halt), ModelCalled and
 * BudgetReserved, the call, settlement, ModelResponded or ModelFailed. Returns the interpretation of a usable reply,
 * or null when the call failed or its output was bad (recorded; the caller decides again) or the task ended.
 */
async function callModel(
  e: Emitter,
  deps: PlannerDeps,
  signal: AbortSignal,
  parentSpan: Span | undefined,
): Promise<(Interpretation & { opened?: OpenedValues }) | null> {
  const s = e.current;
  const callId = randomUUID();
  const price = priceOf(s.model, deps.prices);
  if (price === undefined) {
    const message = `no price is configured for model ${s.model}: the planner does not call a model it cannot cost`;
    await e.emit('ModelFailed', { callId, model: s.model, errorClass: 'price_unknown', message, attempts: 0 });
    await e.emit('TaskFailed', {
      reasonCode: 'price_unknown',
      message,
      partial: partialResult(e.current, message),
      totals: totalsOf(e.current),
    });
    return null;
  }
  const messages = buildContext(s, deps.window, deps.tokens);
  const offered = offeredTools(s, deps);
  const opened = new OpenedValues();
  const promptTokens = countPromptTokens(messages, offered.tools, deps.tokens);
  const maxTokens = deps.maxCompletionTokens;
  const wanted = reservationFor(promptTokens, maxTokens, price);
  // The task's own budget is in its state (ADR 0031): checked here, recorded by BudgetReserved, settled by the call's
  // ModelResponded or ModelFailed, all in this handling's transaction.
  const taskBudget = taskBudgetOf(s);
  const taskShort = taskBudgetRefusal(taskBudget, s.limits, wanted);
  if (taskShort !== null) {
    deps.metrics?.budgetRefused(s.tenantId, taskShort.budget);
    await halt(e, budgetHalt(taskShort), deps);
    return null;
  }
  const tenant = deps.tenantLimit(s.tenantId);
  const reserved = await deps.budgets.reserve({
    tenantId: s.tenantId,
    tokens: wanted.tokens,
    microUsd: wanted.costMicroUsd,
    limit: { tokens: tenant.tokens, microUsd: toMicroUsd(tenant.costUsd) },
  });
  if (!reserved.ok) {
    deps.metrics?.budgetRefused(s.tenantId, reserved.refusal.budget);
    await halt(e, budgetHalt(reserved.refusal), deps);
    return null;
  }
  const hold = reserved.hold;
  // what this replica may still spend for the tenant, as of its last exchange with the owner (ADR 0031)
  deps.metrics?.tenantBudget(s.tenantId, tenant.costUsd, reserved.remainingMicroUsd / 1e6);
  let settled = false;
  let called = false;
  const settle = async (tokens: number, costUsd: number): Promise<void> => {
    if (settled) return;
    settled = true;
    await deps.budgets.settle(hold, { tokens, microUsd: Math.max(0, toMicroUsd(costUsd)) });
  };
  try {
    await e.emit('ModelCalled', {
      callId,
      model: s.model,
      messages,
      toolsOffered: offered.names,
      maxTokens,
      promptTokens,
      reservedTokens: wanted.tokens,
      reservedCostUsd: wanted.costMicroUsd / 1_000_000,
    });
    await e.emit('BudgetReserved', {
      reservationId: callId,
      callId,
      tokens: wanted.tokens,
      costUsd: wanted.costMicroUsd / 1_000_000,
      taskUsed: {
        tokens: taskBudget.tokens + wanted.tokens,
        costUsd: (taskBudget.microUsd + wanted.costMicroUsd) / 1_000_000,
      },
    });
    let reply;
    const span = startModelSpan(
      { model: s.model, maxTokens, taskId: s.taskId, tenantId: s.tenantId, callId },
      parentSpan,
    );
    const started = performance.now();
    called = true;
    try {
      reply = await deps.model.complete({
        model: s.model,
        messages: await clearMessages(messages, deps, opened),
        tools: offered.tools,
        maxTokens,
        signal,
      });
    } catch (error) {
      failModelSpan(span, error instanceof ModelCallError ? error.errorClass : 'unexpected', (error as Error).message);
      if (!(error instanceof ModelCallError)) throw error;
      deps.metrics?.modelCall({
        model: s.model,
        tenantId: s.tenantId,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        durationS: (performance.now() - started) / 1000,
        ok: false,
      });
      await settle(0, 0);
      await e.emit('ModelFailed', {
        callId,
        model: s.model,
        errorClass: error.errorClass,
        message: clipText(error.message, MAX_MESSAGE_CHARS),
        attempts: error.attempts,
      });
      return null;
    }
    // Charged by what the server reports or what the reply holds, whichever is more: a server that under-reports
    // (or reports nothing) is charged for what it sent.
    const counted = countCompletionTokens(reply.content, reply.toolCalls, deps.tokens);
    const completionTokens = Math.max(reply.usage?.completionTokens ?? 0, counted);
    const fullUsage = {
      promptTokens: reply.usage?.promptTokens ?? promptTokens,
      completionTokens,
      totalTokens: (reply.usage?.promptTokens ?? promptTokens) + completionTokens,
    };
    const costUsd = costOf(fullUsage, price);
    endModelSpan(span, {
      finishReason: reply.finishReason,
      inputTokens: fullUsage.promptTokens,
      outputTokens: completionTokens,
      costUsd,
    });
    deps.metrics?.modelCall({
      model: s.model,
      tenantId: s.tenantId,
      inputTokens: fullUsage.promptTokens,
      outputTokens: completionTokens,
      costUsd,
      durationS: reply.durationMs / 1000,
      ok: true,
    });
    await settle(fullUsage.totalTokens, costUsd);
    const decoded =
      reply.toolCalls.length > 0 ? decodeToolTurnContent(reply.content) : decodeAnswerContent(reply.content);
    // What the model wrote goes out (and into the task's state) with what it repeated of the personal data it was
    // shown sealed again; it is interpreted from the clear reply (ADR 0026).
    const how = repeatSealing(deps, s.tenantId, opened);
    const reasoning = reply.reasoning ?? (decoded.ok ? decoded.envelope.reasoning : null);
    await e.emit('ModelResponded', {
      callId,
      model: s.model,
      content: reply.content === null || how === undefined ? reply.content : await sealRepeatedText(reply.content, how),
      reasoning: reasoning === null || how === undefined ? reasoning : await sealRepeatedText(reasoning, how),
      toolCalls: await Promise.all(
        reply.toolCalls.map(async (c) => ({
          ...c,
          arguments: how === undefined ? c.arguments : await sealArguments(c.arguments, how),
        })),
      ),
      finishReason: reply.finishReason,
      usage: fullUsage,
      costUsd,
      durationMs: reply.durationMs,
      attempts: reply.attempts,
      logprobConfidence: reply.logprobConfidence,
    });
    if (completionTokens > maxTokens) {
      // The server ignored max_completion_tokens: the reply is charged in full (above), never acted on, and the
      // task halts with an alert: a model that does not keep to what was reserved cannot be budgeted.
      await halt(
        e,
        {
          kind: 'overrun',
          maxTokens,
          completionTokens,
          reservedTokens: wanted.tokens,
          usedTokens: fullUsage.totalTokens,
        },
        deps,
      );
      return null;
    }
    const interpretation = interpretReply(reply, offered.names, deps.tools);
    if (interpretation.kind === 'answer' && interpretation.answer.length > deps.maxAnswerChars) {
      // Refused, never cut into a completion: a cut answer would be approved as something the model did not say.
      await e.emit('ModelFailed', {
        callId,
        model: s.model,
        errorClass: 'answer_too_long',
        message: `the answer has ${interpretation.answer.length} characters, more than the ${deps.maxAnswerChars} allowed (PLANNER_MAX_ANSWER_CHARS)`,
        attempts: reply.attempts,
      });
      return null;
    }
    if (interpretation.kind === 'bad_output') {
      await e.emit('ModelFailed', {
        callId,
        model: s.model,
        errorClass: interpretation.errorClass,
        message: clipText(interpretation.message, MAX_MESSAGE_CHARS),
        attempts: reply.attempts,
      });
      return null;
    }
    return { ...interpretation, opened };
  } finally {
    // A handling that threw (publish, encode) still settles its hold: an idle task never blocks others. Before the
    // model was called nothing was used; after, what was is not known here: charged in full (the tenant never
    // under-counts; the task's figures go with the aborted handling, ADR 0031).
    if (called) await settle(wanted.tokens, wanted.costMicroUsd / 1_000_000);
    else await settle(0, 0);
  }
}

/**
 * Moves a task forward from its state until it waits for an outcome or ends: proposes a queued call, calls the
 * model (again after a failure or bad output, each counting toward the task's breaker), or halts. Side events
 * (ModelCalled, BudgetReserved, ModelResponded, ModelFailed, alerts) are published before the proposal or end
 * event, so that the main output is the head of the chain the next worker responds to.
 */
export async function advance(
  state: TaskState,
  deps: PlannerDeps,
  ctx: Pick<HandlerContext, 'publish' | 'signal'> & { readonly span?: Span },
): Promise<TaskState> {
  const e = emitterFor(state, ctx.publish, deps);
  /** What the model call made in this move opened: its queued calls are sealed from it, not from a second opening. */
  let calledWith: OpenedValues | undefined;
  for (;;) {
    const next = decideNext(e.current, deps.now().getTime(), deps.loops);
    switch (next.kind) {
      case 'none':
        return e.current;
      case 'halt':
        await halt(e, next.reason, deps);
        return e.current;
      case 'propose_queued': {
        const last = e.current.turns.at(-1);
        // The turn as the model wrote it: its state holds it sealed (ADR 0026); what the model was shown for it
        // (its context) and what it wrote are opened in memory, and the proposal is sealed again from them.
        const opened = calledWith ?? new OpenedValues();
        const [content, call] = await openedTurn(
          e.current,
          last?.assistant.content ?? null,
          next.call,
          deps,
          opened,
          calledWith === undefined,
        );
        const interpretation = interpretQueuedCall(
          { content, logprobConfidence: last?.logprobConfidence ?? null },
          call,
          offeredTools(e.current, deps).names,
          deps.tools,
        );
        if (interpretation.kind === 'bad_output') {
          // the tool left the offer (its breaker opened) since the turn was checked
          await e.emit('ModelFailed', {
            callId: randomUUID(),
            model: e.current.model,
            errorClass: interpretation.errorClass,
            message: interpretation.message,
            attempts: 0,
          });
          continue;
        }
        await propose(e, interpretation, deps, opened);
        return e.current;
      }
      case 'call_model': {
        const interpretation = await callModel(e, deps, ctx.signal, ctx.span);
        if (interpretation === null || interpretation.kind === 'bad_output') continue;
        calledWith = interpretation.opened;
        if (interpretation.kind === 'answer') {
          await propose(e, interpretation, deps, interpretation.opened ?? new OpenedValues());
          return e.current;
        }
        continue; // the turn's calls are queued: the next round proposes the first
      }
      case 'propose_given':
      case 'answer_given':
      case 'fail_given':
        await followGivenPlan(e, next, deps);
        return e.current;
      default: {
        const never: never = next;
        return never;
      }
    }
  }
}

/**
 * A queued call's turn opened (ADR 0026): its content and arguments in clear, and in `opened` every value opened for
 * it: the turn's own and (`withContext`, unless the model call of this move recorded them) its context's, what the
 * model was shown, so that whatever it repeats is sealed again.
 */
async function openedTurn(
  state: TaskState,
  content: string | null,
  call: Extract<NextStep, { kind: 'propose_queued' }>['call'],
  deps: PlannerDeps,
  opened: OpenedValues,
  withContext: boolean,
): Promise<[string | null, Extract<NextStep, { kind: 'propose_queued' }>['call']]> {
  const keys = deps.sealing?.keys;
  if (keys === undefined) return [content, call];
  if (withContext) await clearMessages(buildContext(state, deps.window, deps.tokens), deps, opened);
  return [
    content === null ? null : await openSealedInText(keys, content, opened.record),
    { ...call, arguments: await openArguments(keys, call.arguments, opened) },
  ];
}

/** The requester's own plan stands for the model's judgement: full confidence, from no model (ADR 0026). */
const GIVEN_CONFIDENCE = { value: 1, source: 'default' } as const;

/**
 * One move of a task with a given plan (ADR 0026): propose its next step as it stands (guarded and executed like
 * any action), or the closing answer once every step succeeded, or fail at the first step that did not.
 */
async function followGivenPlan(
  e: Emitter,
  next: Extract<NextStep, { kind: 'propose_given' | 'answer_given' | 'fail_given' }>,
  deps: PlannerDeps,
): Promise<void> {
  const state = e.current;
  switch (next.kind) {
    case 'propose_given': {
      const args = deps.redact(next.step.args);
      await e.emit('ActionProposed', {
        actionId: next.step.actionId,
        step: state.steps + 1,
        tool: next.step.tool,
        args,
        argsHash: canonicalHash(args),
        reasoning: clipText(next.step.reasoning, MAX_REASONING_CHARS),
        confidence: GIVEN_CONFIDENCE,
        claims: [],
      });
      return;
    }
    case 'answer_given': {
      const done = state.history.map((r) => `${r.actionId} (${r.tool})`);
      await e.emit('AnswerProposed', {
        actionId: `answer-${state.steps + 1}`,
        step: state.steps + 1,
        answer: clipText(`Given plan done: ${done.length} step(s) succeeded: ${done.join(', ')}.`, MAX_ANSWER_CHARS),
        output: { succeeded: state.history.map((r) => r.actionId) },
        reasoning: 'every step of the given plan succeeded',
        confidence: GIVEN_CONFIDENCE,
        claims: [],
      });
      return;
    }
    case 'fail_given': {
      const message = clipText(
        `step ${next.record.actionId} (${next.record.tool}) of the given plan ended ${next.record.outcome}: ${next.record.note}; the steps after it were not proposed`,
        MAX_MESSAGE_CHARS,
      );
      await e.emit('TaskFailed', {
        reasonCode: 'given_step_failed',
        message,
        partial: partialResult(state, message),
        totals: totalsOf(state),
      });
      return;
    }
  }
}

/**
 * Halts a task whose verdict does not match what it judges (an approval bound to another answer): an alert, a
 * person asked, TaskHalted with the partial result. Such a task would otherwise wait for ever.
 */
export async function haltOnMismatch(
  state: TaskState,
  deps: PlannerDeps,
  publish: Publish,
  message: string,
): Promise<TaskState> {
  const e = emitterFor(state, publish, deps);
  await halt(e, { kind: 'mismatch', message }, deps);
  return e.current;
}

/** Ends a task whose answer was approved: TaskCompleted with the answer and the totals. */
export async function complete(state: TaskState, deps: PlannerDeps, publish: Publish): Promise<TaskState> {
  if (state.pending?.kind !== 'answer') return state;
  const e = emitterFor(state, publish, deps);
  await e.emit('TaskCompleted', {
    answer: state.pending.answer,
    ...(state.pending.output === undefined ? {} : { output: state.pending.output }),
    totals: totalsOf(state),
  });
  return e.current;
}

/**
 * An admin resumed the halted task (the TaskResumed is checked and folded in already): the task's breaker closes
 * if the halt opened it, then the task moves on from where it stopped. Work done before the halt is in its history
 * and is never proposed again by the planner; the executor's effect ledger refuses to run an action id twice.
 */
export async function resume(
  state: TaskState,
  haltReasonCode: string,
  by: string,
  deps: PlannerDeps,
  ctx: Pick<HandlerContext, 'publish' | 'signal'>,
): Promise<TaskState> {
  if (haltReasonCode === 'task_breaker_open') {
    const e = emitterFor(state, ctx.publish, deps);
    await e.emit('BreakerClosed', { scope: 'task', name: state.taskId, reason: `resumed by ${by}` });
    state = e.current;
  }
  return advance(state, deps, ctx);
}

/** An admin cancelled the halted task: it ends as failed (reason `cancelled`) with its partial result. */
export async function cancel(state: TaskState, by: string, deps: PlannerDeps, publish: Publish): Promise<TaskState> {
  const e = emitterFor(state, publish, deps);
  const message = `cancelled by ${by} while halted (${state.endReason ?? 'unknown reason'})`;
  await e.emit('TaskFailed', {
    reasonCode: 'cancelled',
    message: clipText(message, MAX_MESSAGE_CHARS),
    partial: partialResult(state, message),
    totals: totalsOf(state),
  });
  return e.current;
}
