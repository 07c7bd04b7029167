import {
  canonicalHash,
  clipText,
  heldEscalationOf,
  type ChatMessage,
  type EventData,
  type EventType,
  type JsonValue,
} from '@warden/contracts';
import { reserveTaskBudget, settleTaskBudget, taskBudgetOf, toMicroUsd } from './budget.js';
import { renderToolOutput } from './tool-output.js';
import type {
  ActionRecord,
  BadOutputClass,
  TaskLimits,
  TaskState,
  TokenCounter,
  Turn,
  WindowSettings,
} from './types.js';
import { BadOutputClasses } from './types.js';

/** An event as evolve() reads it: id, type and data (envelope fields it does not need are left out). */
export type Fact = {
  [T in EventType]: { readonly id: string; readonly type: T; readonly data: EventData<T> };
}[EventType];

/** What evolve() needs besides the state and the event. */
export interface EvolveOptions {
  readonly tokens: TokenCounter;
  readonly window: WindowSettings;
}

/** How many escalations of a task a state remembers. */
const ESCALATION_MEMORY = 20;

/** How many applied event ids a state remembers. */
export const APPLIED_MEMORY = 256;

/** An action record's note (what the model sees of a past step), in characters. */
const NOTE_MAX_CHARS = 300;

/** The state of a new task. Pure. */
export function initialState(input: {
  readonly eventId: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly task: EventData<'TaskSubmitted'>;
  readonly startedAtMs: number;
  readonly limits: TaskLimits;
}): TaskState {
  return {
    taskId: input.taskId,
    submittedEventId: input.eventId,
    tenantId: input.tenantId,
    model: input.model,
    goal: input.task.goal,
    input: input.task.input,
    scopeTools: [...input.task.scope.tools],
    startedAtMs: input.startedAtMs,
    limits: input.limits,
    status: 'planning',
    steps: 0,
    modelCalls: 0,
    turns: [],
    queue: [],
    pending: null,
    history: [],
    consecutiveFailures: 0,
    totals: { usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
    applied: [input.eventId],
    endReason: null,
    ...(input.task.plan === undefined
      ? {}
      : {
          given: input.task.plan.steps.map((s) => ({
            actionId: s.actionId,
            tool: s.tool,
            args: s.args,
            reasoning: s.reasoning,
          })),
        }),
  };
}

function short(text: string, maxChars = NOTE_MAX_CHARS): string {
  return clipText(text, maxChars);
}

function withReplies(state: TaskState, replies: readonly ChatMessage[]): readonly Turn[] {
  const last = state.turns.at(-1);
  if (last === undefined || replies.length === 0) return state.turns;
  return [...state.turns.slice(0, -1), { ...last, replies: [...last.replies, ...replies] }];
}

/** Replies for the queued calls of a turn that will not run, because an earlier call of the turn did not succeed. */
function skippedReplies(state: TaskState): ChatMessage[] {
  return state.queue.map((call) => ({
    role: 'tool',
    content: JSON.stringify({ error: 'skipped', message: 'not run: an earlier call of this turn did not succeed' }),
    toolCallId: call.id,
  }));
}

function isBadOutput(errorClass: string): errorClass is BadOutputClass {
  return (BadOutputClasses as readonly string[]).includes(errorClass);
}

function addUsage(
  state: TaskState,
  usage: EventData<'ModelResponded'>['usage'] | undefined,
  costUsd = 0,
): TaskState['totals'] {
  if (usage === undefined) return { ...state.totals, costUsd: state.totals.costUsd + costUsd };
  const u = state.totals.usage;
  return {
    usage: {
      promptTokens: u.promptTokens + usage.promptTokens,
      completionTokens: u.completionTokens + usage.completionTokens,
      totalTokens: u.totalTokens + usage.totalTokens,
    },
    costUsd: state.totals.costUsd + costUsd,
  };
}

/** The outcome of the pending action as a history record and the state after it. */
function settleAction(
  state: TaskState,
  outcome: ActionRecord['outcome'],
  reply: ChatMessage,
  resultHash: string,
  note: string,
): TaskState {
  const pending = state.pending;
  if (pending === null) return state;
  const failed = outcome !== 'succeeded';
  const replies = pending.kind === 'action' ? [reply, ...(failed ? skippedReplies(state) : [])] : [reply];
  const record: ActionRecord[] =
    pending.kind === 'action'
      ? [
          {
            actionId: pending.actionId,
            tool: pending.tool,
            argsHash: pending.argsHash,
            outcome,
            resultHash,
            note: short(note),
          },
        ]
      : [];
  return {
    ...state,
    turns: withReplies(state, replies),
    queue: failed ? [] : state.queue,
    pending: null,
    status: 'planning',
    history: [...state.history, ...record],
    consecutiveFailures: failed ? state.consecutiveFailures + 1 : 0,
  };
}

function matchesPending(state: TaskState, actionId: string, kind?: 'action' | 'answer'): boolean {
  return (
    state.pending !== null && state.pending.actionId === actionId && (kind === undefined || state.pending.kind === kind)
  );
}

function feedback(state: TaskState, text: string): ChatMessage {
  return state.pending?.kind === 'action'
    ? { role: 'tool', content: text, toolCallId: state.pending.toolCallId }
    : { role: 'user', content: text };
}

/**
 * Folds one event of the task into the state. Pure and idempotent: an event already applied (by id) changes
 * nothing, and an outcome that does not answer the pending proposal (stale, or another task's copy) is ignored.
 * The planner's own events (ModelResponded, ModelFailed, proposals, ends) go through here too, so the state can be
 * rebuilt from the task's events alone.
 */
export function evolve(state: TaskState, fact: Fact, options: EvolveOptions): TaskState {
  if (state.applied.includes(fact.id)) return state;
  const next = apply(state, fact, options);
  return { ...next, applied: [...next.applied, fact.id].slice(-APPLIED_MEMORY) };
}

function apply(state: TaskState, fact: Fact, options: EvolveOptions): TaskState {
  switch (fact.type) {
    case 'ModelCalled':
      return { ...state, modelCalls: state.modelCalls + 1 };
    case 'ModelResponded': {
      const d = fact.data;
      const assistant: ChatMessage = {
        role: 'assistant',
        content: d.content,
        ...(d.toolCalls.length > 0 ? { toolCalls: d.toolCalls.map((c) => ({ ...c })) } : {}),
      };
      return {
        ...state,
        turns: [...state.turns, { assistant, replies: [], logprobConfidence: d.logprobConfidence }],
        queue: d.toolCalls.map((c) => ({ ...c })),
        totals: addUsage(state, d.usage, d.costUsd),
        budget: settleTaskBudget(taskBudgetOf(state), d.callId, {
          tokens: d.usage.totalTokens,
          microUsd: toMicroUsd(d.costUsd),
        }),
      };
    }
    case 'ModelFailed': {
      const d = fact.data;
      const totals = addUsage(state, d.usage, d.costUsd ?? 0);
      const budget = settleTaskBudget(taskBudgetOf(state), d.callId, {
        tokens: d.usage?.totalTokens ?? 0,
        microUsd: toMicroUsd(d.costUsd ?? 0),
      });
      if (!isBadOutput(d.errorClass)) {
        return { ...state, totals, budget, consecutiveFailures: state.consecutiveFailures + 1 };
      }
      const last = state.turns.at(-1);
      const error = JSON.stringify({ error: d.errorClass, message: d.message });
      const calls = last?.assistant.toolCalls ?? [];
      const replies: ChatMessage[] =
        calls.length > 0
          ? calls.map((c) => ({ role: 'tool', content: error, toolCallId: c.id }))
          : [
              {
                role: 'user',
                content: `error: your last reply was unusable (${d.errorClass}): ${d.message}. Reply again following the protocol.`,
              },
            ];
      return {
        ...state,
        totals,
        budget,
        turns: withReplies(state, replies),
        queue: [],
        consecutiveFailures: state.consecutiveFailures + 1,
      };
    }
    case 'ActionProposed': {
      const call = state.queue[0];
      return {
        ...state,
        steps: state.steps + 1,
        status: 'waiting',
        queue: state.queue.slice(1),
        pending: {
          kind: 'action',
          actionId: fact.data.actionId,
          tool: fact.data.tool,
          argsHash: fact.data.argsHash,
          toolCallId: call?.id ?? fact.data.actionId,
        },
      };
    }
    case 'AnswerProposed':
      return {
        ...state,
        steps: state.steps + 1,
        status: 'waiting',
        queue: [],
        pending: {
          kind: 'answer',
          actionId: fact.data.actionId,
          answer: fact.data.answer,
          ...(fact.data.output === undefined ? {} : { output: fact.data.output }),
        },
      };
    case 'ToolSucceeded': {
      if (!matchesPending(state, fact.data.actionId, 'action')) return state;
      const result: JsonValue = fact.data.result;
      const content = renderToolOutput(result, options.window.toolOutputMaxTokens, options.tokens);
      const pending = state.pending as { toolCallId: string; tool: string };
      return settleAction(
        state,
        'succeeded',
        { role: 'tool', content, toolCallId: pending.toolCallId },
        canonicalHash(result),
        `${pending.tool} succeeded: ${short(content, 160)}`,
      );
    }
    case 'ToolFailed': {
      if (!matchesPending(state, fact.data.actionId, 'action')) return state;
      const d = fact.data;
      const pending = state.pending as { toolCallId: string; tool: string };
      const content = JSON.stringify({ error: d.errorClass, message: d.message, retryable: d.retryable });
      return settleAction(
        state,
        'failed',
        { role: 'tool', content, toolCallId: pending.toolCallId },
        canonicalHash([d.errorClass, d.message]),
        `${pending.tool} failed (${d.errorClass}): ${d.message}`,
      );
    }
    case 'ActionRejected': {
      if (!matchesPending(state, fact.data.actionId)) return state;
      const d = fact.data;
      const content = JSON.stringify({ error: 'rejected_by_guard', reasonCode: d.reasonCode, message: d.message });
      return settleAction(
        state,
        'rejected',
        feedback(state, content),
        canonicalHash(['rejected', d.reasonCode]),
        `rejected by the guard (${d.reasonCode}): ${d.message}`,
      );
    }
    case 'HumanDenied': {
      if (!matchesPending(state, fact.data.actionId)) return state;
      const d = fact.data;
      const content = JSON.stringify({ error: 'denied_by_person', comment: d.comment ?? null });
      return settleAction(
        state,
        'denied',
        feedback(state, content),
        canonicalHash(['denied', d.comment ?? '']),
        `denied by ${d.decidedBy.id}${d.comment === undefined ? '' : `: ${d.comment}`}`,
      );
    }
    case 'TaskCompleted':
      return { ...state, status: 'completed', pending: null, endReason: 'completed' };
    case 'TaskFailed':
      return { ...state, status: 'failed', pending: null, endReason: fact.data.reasonCode };
    case 'TaskHalted': {
      const d = fact.data;
      const halted = { ...state, status: 'halted' as const, endReason: d.reasonCode };
      if (d.escalationId === undefined) return halted;
      return { ...halted, halt: { eventId: fact.id, escalationId: d.escalationId, reasonCode: d.reasonCode } };
    }
    case 'TaskResumed': {
      // An admin's resume (checked by the handler before it is folded): the task plans again from where it stopped,
      // its breaker count and loop history start afresh, and its limits grow by the grant. Nothing done before the
      // halt is undone or run again: the history and the conversation are kept.
      if (state.status !== 'halted') return state;
      const g = fact.data.grant ?? {};
      const l = state.limits;
      const { halt: _halt, ...rest } = state;
      return {
        ...rest,
        status: 'planning',
        endReason: null,
        consecutiveFailures: 0,
        loopFrom: state.history.length,
        resumes: (state.resumes ?? 0) + 1,
        limits: {
          ...l,
          maxTokens: l.maxTokens + (g.tokens ?? 0),
          maxCostUsd: l.maxCostUsd + (g.costUsd ?? 0),
          maxSteps: l.maxSteps + (g.steps ?? 0),
          maxWallTimeMs: l.maxWallTimeMs + (g.wallTimeMs ?? 0),
        },
      };
    }
    case 'EscalationRequested': {
      const held = heldEscalationOf(state.taskId, fact.data);
      const others = (state.escalations ?? []).filter((e) => e.escalationId !== held.escalationId);
      return { ...state, escalations: [...others, held].slice(-ESCALATION_MEMORY) };
    }
    case 'BudgetReserved': {
      // The task's reservation (ADR 0031): its figures in the state, settled by the call's ModelResponded or
      // ModelFailed in the same handling.
      const d = fact.data;
      return {
        ...state,
        budget: reserveTaskBudget(taskBudgetOf(state), {
          callId: d.callId,
          tokens: d.tokens,
          microUsd: Math.round(d.costUsd * 1_000_000),
        }),
      };
    }
    case 'TaskSubmitted':
    case 'ActionApproved':
    case 'HumanApproved':
    case 'EscalationExpired':
    case 'TaskCancelled':
    case 'BreakerOpened':
    case 'BreakerClosed':
    case 'BudgetExhausted':
    case 'LoopDetected':
    case 'AlertRaised':
    case 'DeadLettered':
    case 'SubjectErased':
      return state;
    default: {
      const never: never = fact;
      return never;
    }
  }
}
