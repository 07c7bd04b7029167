import type { EventType, WardenEvent } from '@warden/contracts';
import { calibrationFactOf, type CalibrationFact } from '@warden/calibration';

/** What an event is, for people reading a timeline. */
export const EventKinds = {
  task: 'task',
  prompt: 'prompt',
  modelResponse: 'model_response',
  modelFailure: 'model_failure',
  budget: 'budget',
  loop: 'loop',
  proposal: 'proposal',
  verdict: 'verdict',
  escalation: 'escalation',
  humanDecision: 'human_decision',
  toolResult: 'tool_result',
  outcome: 'outcome',
  alert: 'alert',
  breaker: 'breaker',
  deadLetter: 'dead_letter',
  erasure: 'erasure',
} as const;
export type EventKind = (typeof EventKinds)[keyof typeof EventKinds];

/** Token counts summed over a task. */
export interface TokenTotals {
  readonly prompt: number;
  readonly completion: number;
  readonly total: number;
}

/**
 * The searchable facts of one event, extracted from its resolved data (so claim-checked events are searchable too)
 * and stored next to it. Task summaries fold these facts, never the raw data, so a task reloads from the projection
 * without fetching blobs.
 */
export interface EventFacts {
  readonly kind: EventKind;
  readonly tool?: string;
  readonly actionId?: string;
  /** The guard rule that fired (verdicts), when one did. */
  readonly rule?: string;
  readonly reasonCode?: string;
  readonly verdict?: 'approved' | 'rejected' | 'escalated' | 'human_approved' | 'human_denied';
  readonly tokens?: TokenTotals;
  /** Cost in nano-USD (an integer, so sums do not depend on order). */
  readonly costNanoUsd?: number;
  readonly goal?: string;
  readonly requester?: string;
  /** Terminal events: the final answer and output, or the reason. */
  readonly final?: {
    readonly answer?: string;
    readonly output?: unknown;
    readonly reasonCode?: string;
    readonly message?: string;
  };
  readonly alertCode?: string;
  /** What the calibration's labelled points read of this event (ADR 0025), when anything. */
  readonly calibration?: CalibrationFact;
}

const nano = (usd: number | undefined): number => (usd === undefined ? 0 : Math.round(usd * 1e9));
const tokens = (u: { promptTokens: number; completionTokens: number; totalTokens: number }): TokenTotals => ({
  prompt: u.promptTokens,
  completion: u.completionTokens,
  total: u.totalTokens,
});

function assertNever(value: never): never {
  throw new Error(`unhandled event type ${String((value as { type?: unknown }).type)}`);
}

/** The facts of an event (pure). */
export function factsOf(event: WardenEvent): EventFacts {
  switch (event.type) {
    case 'TaskSubmitted':
      return { kind: 'task', goal: event.data.goal, requester: event.data.requester.id };
    case 'ModelCalled':
      return { kind: 'prompt' };
    case 'ModelResponded':
      return { kind: 'model_response', tokens: tokens(event.data.usage), costNanoUsd: nano(event.data.costUsd) };
    case 'ModelFailed':
      return {
        kind: 'model_failure',
        reasonCode: event.data.errorClass,
        ...(event.data.usage === undefined ? {} : { tokens: tokens(event.data.usage) }),
        costNanoUsd: nano(event.data.costUsd),
      };
    case 'BudgetReserved':
      return { kind: 'budget' };
    case 'BudgetExhausted':
      return { kind: 'budget', reasonCode: `budget_${event.data.budget}` };
    case 'LoopDetected':
      return {
        kind: 'loop',
        reasonCode: event.data.kind,
        ...(event.data.tool === undefined ? {} : { tool: event.data.tool }),
      };
    case 'ActionProposed':
      return { kind: 'proposal', tool: event.data.tool, actionId: event.data.actionId };
    case 'AnswerProposed':
      return { kind: 'proposal', actionId: event.data.actionId };
    case 'ActionApproved':
      return {
        kind: 'verdict',
        verdict: 'approved',
        actionId: event.data.actionId,
        reasonCode: event.data.reasonCode,
        ...(event.data.tool === null ? {} : { tool: event.data.tool }),
        ...(event.data.ruleFired === null ? {} : { rule: event.data.ruleFired }),
      };
    case 'ActionRejected':
      return {
        kind: 'verdict',
        verdict: 'rejected',
        actionId: event.data.actionId,
        reasonCode: event.data.reasonCode,
        ...(event.data.tool === null ? {} : { tool: event.data.tool }),
        ...(event.data.ruleFired === null ? {} : { rule: event.data.ruleFired }),
      };
    case 'EscalationRequested':
      return {
        kind: 'escalation',
        verdict: 'escalated',
        reasonCode: event.data.reasonCode,
        ...(event.data.action === null ? {} : { tool: event.data.action.tool, actionId: event.data.action.actionId }),
        ...(event.data.verdict?.ruleFired == null ? {} : { rule: event.data.verdict.ruleFired }),
      };
    case 'HumanApproved':
      return {
        kind: 'human_decision',
        verdict: 'human_approved',
        ...(event.data.tool === null ? {} : { tool: event.data.tool }), // null: an approved answer
        actionId: event.data.actionId,
      };
    case 'HumanDenied':
      return { kind: 'human_decision', verdict: 'human_denied', actionId: event.data.actionId };
    case 'EscalationExpired':
      return {
        kind: 'escalation',
        reasonCode: 'escalation_expired',
        ...(event.data.actionId === null ? {} : { actionId: event.data.actionId }),
      };
    case 'TaskResumed':
    case 'TaskCancelled':
      return { kind: 'human_decision', reasonCode: event.data.haltReasonCode };
    case 'ToolSucceeded':
      return { kind: 'tool_result', tool: event.data.tool, actionId: event.data.actionId };
    case 'ToolFailed':
      return {
        kind: 'tool_result',
        tool: event.data.tool,
        actionId: event.data.actionId,
        reasonCode: event.data.errorClass,
      };
    case 'TaskCompleted':
      return {
        kind: 'outcome',
        final: { answer: event.data.answer, ...(event.data.output === undefined ? {} : { output: event.data.output }) },
      };
    case 'TaskFailed':
    case 'TaskHalted':
      return {
        kind: 'outcome',
        reasonCode: event.data.reasonCode,
        final: { reasonCode: event.data.reasonCode, message: event.data.message },
      };
    case 'AlertRaised':
      return { kind: 'alert', alertCode: event.data.code };
    case 'BreakerOpened':
    case 'BreakerClosed':
      return { kind: 'breaker', ...(event.data.scope === 'tool' ? { tool: event.data.name } : {}) };
    case 'DeadLettered':
      return { kind: 'dead_letter', reasonCode: event.data.errorCode };
    case 'SubjectErased':
      return { kind: 'erasure' };
    default:
      return assertNever(event);
  }
}

/** Terminal event type → task status. */
export const statusOfTerminal: Readonly<Partial<Record<EventType, TaskStatus>>> = {
  TaskCompleted: 'completed',
  TaskFailed: 'failed',
  TaskHalted: 'halted',
};

/** A task's status in the projection. */
export type TaskStatus = 'submitted' | 'running' | 'completed' | 'failed' | 'halted';

/** The facts of an event with its calibration fact (what the projection stores; pure). */
export function storedFactsOf(event: WardenEvent): EventFacts {
  const facts = factsOf(event);
  const calibration = calibrationFactOf(event);
  return calibration === undefined ? facts : { ...facts, calibration };
}
