import { z } from 'zod';
import {
  Actor,
  Budgets,
  ChatMessage,
  Claim,
  Confidence,
  DECISION_KEY_ID_PATTERN,
  Identifier,
  Impact,
  JsonObject,
  JsonValue,
  MagnitudeLimits,
  RiskSettings,
  Scope,
  Sha256Hex,
  TokenUsage,
  VerdictRecord,
} from './common-schemas.js';
import { EventSignature } from './event-signature.js';
import {
  MAX_ANSWER_CHARS,
  MAX_CLAIMS_PER_PROPOSAL,
  MAX_EFFECT_KEY_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_GIVEN_STEPS,
  MAX_GOAL_CHARS,
  MAX_ID_CHARS,
  MAX_MESSAGE_CHARS,
  MAX_NOTE_CHARS,
  MAX_OFFSET_CHARS,
  MAX_REASONING_CHARS,
  MAX_STACK_CHARS,
  MAX_TOPIC_CHARS,
} from './limits.js';

const Text = (maxChars: number) => z.string().max(maxChars);
/** A non-empty id, name or code of at most MAX_ID_CHARS (no character rules: see Identifier for those). */
const Id = z.string().min(1).max(MAX_ID_CHARS);
const ActionId = Id;
const DurationMs = z.number().nonnegative().finite();
const CostUsd = z.number().nonnegative().finite();

/** A person's or system's reason for an end, with what was done and what was not. */
const PartialResult = z.object({
  done: z.array(Text(MAX_NOTE_CHARS)),
  notDone: z.array(Text(MAX_NOTE_CHARS)),
  why: Text(MAX_MESSAGE_CHARS),
  lastOutput: JsonValue.optional(),
});

/** One step of a given plan: an action the planner proposes as it stands, without a model (ADR 0026). */
export const GivenStep = z.object({
  actionId: ActionId,
  tool: Identifier,
  args: JsonObject,
  reasoning: Text(MAX_REASONING_CHARS),
  /** In a rollback: the effect of the earlier task this step undoes. */
  compensates: z
    .object({
      taskId: Identifier,
      actionId: ActionId,
      step: z.number().int().nonnegative(),
      tool: Identifier,
      effectKey: z.string().min(1).max(MAX_EFFECT_KEY_CHARS),
    })
    .optional(),
});

/**
 * A plan the requester gives: the planner proposes its steps one at a time, in order, each guarded and executed like
 * any action, and ends the task when the last one succeeds or fails at the first that does not (ADR 0026).
 */
export const GivenPlan = z.object({
  steps: z.array(GivenStep).min(1).max(MAX_GIVEN_STEPS),
  /** The task whose effects this one undoes: a rollback (of its effects from `fromStep` on). */
  rollbackOf: z.object({ taskId: Identifier, fromStep: z.number().int().nonnegative() }).optional(),
});

/** A task as the requester submits it: goal, input, scope, limits, budgets and risk settings. */
export const TaskSubmitted = z.object({
  goal: Text(MAX_GOAL_CHARS).min(1),
  input: JsonObject,
  requester: Actor,
  scope: Scope,
  limits: MagnitudeLimits,
  budgets: Budgets,
  risk: RiskSettings,
  /** Model to use, when the tenant allows a choice; otherwise the planner's default. */
  model: Id.optional(),
  /** Steps given in advance (a rollback): proposed as they stand, no model is called (ADR 0026). */
  plan: GivenPlan.optional(),
});

/** The planner is about to call the model: the full prompt, the tools offered and the reservation made. */
export const ModelCalled = z.object({
  callId: Id,
  model: Id,
  messages: z.array(ChatMessage),
  toolsOffered: z.array(Identifier),
  maxTokens: z.number().int().positive(),
  promptTokens: z.number().int().nonnegative(),
  reservedTokens: z.number().int().nonnegative(),
  reservedCostUsd: CostUsd,
});

/** The model answered: its reasoning, content, tool calls, token usage and cost. */
export const ModelResponded = z.object({
  callId: Id,
  model: Id,
  content: z.string().nullable(),
  reasoning: z.string().nullable(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })),
  finishReason: z.string().nullable(),
  usage: TokenUsage,
  costUsd: CostUsd,
  durationMs: DurationMs,
  attempts: z.number().int().positive(),
  logprobConfidence: z.number().min(0).max(1).nullable(),
});

/** The model call failed after its retries, or its output was unusable. */
export const ModelFailed = z.object({
  callId: Id,
  model: Id,
  errorClass: z.enum([
    'rate_limited',
    'server_error',
    'timeout',
    'breaker_open',
    'malformed_arguments',
    'unknown_tool',
    'missing_fields',
    'empty_answer',
    'price_unknown',
    'other',
    'answer_too_long',
  ]),
  message: Text(MAX_MESSAGE_CHARS),
  attempts: z.number().int().nonnegative(),
  usage: TokenUsage.optional(),
  costUsd: CostUsd.optional(),
});

/** The planner proposes one tool call. */
export const ActionProposed = z.object({
  actionId: ActionId,
  step: z.number().int().nonnegative(),
  tool: Identifier,
  args: JsonObject,
  argsHash: Sha256Hex,
  reasoning: Text(MAX_REASONING_CHARS),
  confidence: Confidence,
  claims: z.array(Claim).max(MAX_CLAIMS_PER_PROPOSAL),
});

/** The planner proposes the final answer. */
export const AnswerProposed = z.object({
  actionId: ActionId,
  step: z.number().int().nonnegative(),
  answer: Text(MAX_ANSWER_CHARS),
  output: JsonValue.optional(),
  reasoning: Text(MAX_REASONING_CHARS),
  confidence: Confidence,
  claims: z.array(Claim).max(MAX_CLAIMS_PER_PROPOSAL),
});

/** The guard allowed an action (or an answer): the approved tool, args and the args hash it is bound to. */
export const ActionApproved = VerdictRecord.extend({
  tool: Identifier.nullable(),
  args: JsonObject.nullable(),
  argsHash: Sha256Hex,
  impact: Impact.optional(),
  /**
   * The guard's Ed25519 signature over the verdict bound to its task and tenant (`verdictSigningPayload`): the
   * executor runs only verdicts signed by a key in WARDEN_GUARD_PUBLIC_KEYS (ADR 0018).
   */
  signature: EventSignature.optional(),
  /**
   * The end of the task's wall-time budget (its TaskSubmitted's occurredAt plus budgets.maxWallTimeMs): the executor
   * dispatches no effect after it. Absent in approvals written before it was carried.
   */
  deadlineAt: z.iso.datetime().optional(),
});

/** The guard denied an action or an answer. */
export const ActionRejected = VerdictRecord.extend({
  tool: Identifier.nullable(),
  argsHash: Sha256Hex,
  message: Text(MAX_MESSAGE_CHARS),
  /** The guard's signature, as on ActionApproved. */
  signature: EventSignature.optional(),
});

/** Somebody (the guard, the planner, the executor) asks a person to decide. */
export const EscalationRequested = z.object({
  escalationId: Id,
  source: z.enum(['guard', 'planner', 'executor', 'auditor']),
  reasonCode: Id,
  reason: Text(MAX_MESSAGE_CHARS),
  /** The action a person may approve, bound by its args hash; null when there is nothing to approve. */
  action: z
    .object({
      actionId: ActionId,
      tool: Identifier,
      args: JsonObject,
      argsHash: Sha256Hex,
      impact: Impact.optional(),
      /** The end of the task's wall-time budget: a person's approval runs nothing after it (as ActionApproved's). */
      deadlineAt: z.iso.datetime().optional(),
    })
    .nullable(),
  verdict: VerdictRecord.optional(),
  policyVersion: Id,
  expiresAt: z.iso.datetime(),
  /** The answer a person may approve (an escalated AnswerProposed), bound by `answerHash(answer, output)`. */
  answer: z
    .object({ actionId: ActionId, answer: Text(200_000), output: JsonValue.optional(), argsHash: Sha256Hex })
    .optional(),
  /** What the person deciding should see of the proposal: the model's reasoning, confidence and cited claims. */
  proposal: z.object({ reasoning: Text(20_000), confidence: Confidence, claims: z.array(Claim).max(50) }).optional(),
  /** The signature of the worker that escalated (the guard's key for the guard's escalations), as on ActionApproved. */
  signature: EventSignature.optional(),
});

/**
 * Nobody decided an escalation before its expiry. Its own outcome, not a denial: the task halts with its partial
 * result instead of waiting forever.
 */
export const EscalationExpired = z.object({
  escalationId: z.string().min(1).max(200),
  actionId: ActionId.nullable(),
  expiresAt: z.iso.datetime(),
});

const HumanDecision = z.object({
  escalationId: Id,
  actionId: ActionId,
  decidedBy: Actor,
  argsHash: Sha256Hex,
  policyVersion: Id,
  expiresAt: z.iso.datetime(),
  comment: Text(MAX_MESSAGE_CHARS).optional(),
  /**
   * Who vouches for the decision: an Ed25519 signature by the deciding service (the escalation service), over the
   * decision bound to its task and tenant (`decisionSigningPayload`); the executor and the planner hold only public
   * keys. `hmacSha256` is the retired shared-key form (ADR 0010), still readable, never accepted (ADR 0017).
   */
  signature: z
    .object({
      keyId: z.string().regex(DECISION_KEY_ID_PATTERN),
      hmacSha256: Sha256Hex.optional(),
      ed25519: z
        .string()
        .regex(/^[A-Za-z0-9+/]{86}==$/)
        .optional(),
    })
    .strict()
    .optional(),
});

/**
 * A person approved exactly this action (tool, args, args hash), under a policy version, until an expiry. For an
 * answer, tool is null, args is {} and argsHash binds the answer (`answerHash(answer, output)`).
 */
export const HumanApproved = HumanDecision.extend({ tool: Identifier.nullable(), args: JsonObject });

/** A person denied the action. */
export const HumanDenied = HumanDecision;

/**
 * An admin's answer to a task halted by a defence (a breaker, a budget, a loop): bound to the task, the halt's
 * escalation and its TaskHalted event, signed by the deciding service like a person's decision, and expiring.
 */
const HaltDecision = z.object({
  /** The escalation the halt raised (TaskHalted.escalationId). */
  escalationId: Id,
  /** The TaskHalted event this answers: a decision for an earlier halt of the same task does not count. */
  haltEventId: Id,
  /** Why the task halted (TaskHalted.reasonCode). */
  haltReasonCode: Id,
  decidedBy: Actor,
  policyVersion: Id,
  expiresAt: z.iso.datetime(),
  comment: Text(MAX_MESSAGE_CHARS).optional(),
  /** Ed25519 by the deciding service over every field but this and the comment (`signHaltDecision`). */
  signature: EventSignature.optional(),
});

/**
 * An admin resumed a halted task: the planner goes on from where it stopped (work done before the halt is never
 * run again), with the breaker and loop history reset and the task's limits raised by `grant`.
 */
export const TaskResumed = HaltDecision.extend({
  grant: z
    .object({
      tokens: z.number().int().nonnegative().optional(),
      costUsd: CostUsd.optional(),
      steps: z.number().int().nonnegative().optional(),
      wallTimeMs: z.number().int().nonnegative().optional(),
    })
    .strict()
    .optional(),
});

/** An admin cancelled a halted task: the planner ends it (TaskFailed, reason `cancelled`) with its partial result. */
export const TaskCancelled = HaltDecision;

/** A tool ran and its output passed validation. */
export const ToolSucceeded = z.object({
  actionId: ActionId,
  tool: Identifier,
  effectKey: z.string().min(1).max(MAX_EFFECT_KEY_CHARS),
  result: JsonValue,
  durationMs: DurationMs,
});

/** A tool did not run or did not succeed. */
export const ToolFailed = z.object({
  actionId: ActionId,
  tool: Identifier,
  effectKey: z.string().min(1).max(MAX_EFFECT_KEY_CHARS),
  errorClass: z.enum([
    'timeout',
    'breaker_open',
    'invalid_output',
    'invalid_args',
    'tool_error',
    'outcome_unknown',
    'refused',
  ]),
  message: Text(MAX_MESSAGE_CHARS),
  retryable: z.boolean(),
  durationMs: DurationMs,
});

const BreakerSubject = z.object({
  scope: z.enum(['tool', 'task']),
  name: Id,
});

/** A breaker opened: the tool (or the task) fails fast until a probe succeeds. */
export const BreakerOpened = BreakerSubject.extend({
  reason: Text(MAX_NOTE_CHARS),
  consecutiveFailures: z.number().int().nonnegative(),
  errorRate: z.number().min(0).max(1).optional(),
});

/** A breaker closed again after a successful probe. */
export const BreakerClosed = BreakerSubject.extend({ reason: Text(MAX_NOTE_CHARS) });

/** Budget set aside before a model call. */
export const BudgetReserved = z.object({
  reservationId: Id,
  callId: Id,
  tokens: z.number().int().nonnegative(),
  costUsd: CostUsd,
  taskUsed: z.object({ tokens: z.number().int().nonnegative(), costUsd: CostUsd }),
});

/** A budget ran out: the task halts and a person is asked. */
export const BudgetExhausted = z.object({
  budget: z.enum(['tokens', 'cost', 'steps', 'wall_time', 'tenant_tokens', 'tenant_cost']),
  limit: z.number().nonnegative(),
  used: z.number().nonnegative(),
  requested: z.number().nonnegative(),
});

/** The planner found the task going round in circles. */
export const LoopDetected = z.object({
  kind: z.enum(['repeated_failure', 'repeated_success', 'oscillation', 'no_progress']),
  tool: Identifier.optional(),
  argsHash: Sha256Hex.optional(),
  count: z.number().int().positive(),
  message: Text(MAX_NOTE_CHARS),
});

const TaskTotals = z.object({
  steps: z.number().int().nonnegative(),
  usage: TokenUsage,
  costUsd: CostUsd,
});

/** The task ended with an approved answer. */
export const TaskCompleted = z.object({
  answer: Text(MAX_ANSWER_CHARS),
  output: JsonValue.optional(),
  totals: TaskTotals,
});

/** The task ended in failure. */
export const TaskFailed = z.object({
  reasonCode: Id,
  message: Text(MAX_MESSAGE_CHARS),
  partial: PartialResult,
  totals: TaskTotals,
});

/** The task was stopped by a defence (breaker, budget, loop) and waits for a person; its partial result. */
export const TaskHalted = z.object({
  reasonCode: Id,
  message: Text(MAX_MESSAGE_CHARS),
  partial: PartialResult,
  totals: TaskTotals,
  escalationId: z.string().max(MAX_ID_CHARS).optional(),
});

/** Something needs an operator's attention. */
export const AlertRaised = z.object({
  alertId: Id,
  code: z.enum([
    'breaker_open',
    'task_breaker_open',
    'budget_exhausted',
    'loop_detected',
    'audit_chain_broken',
    'escalation_expired',
    'outcome_unknown',
    'policy_warn',
    'dead_lettered',
    'verdict_mismatch',
  ]),
  severity: z.enum(['info', 'warning', 'critical']),
  message: Text(MAX_MESSAGE_CHARS),
  subject: z.record(z.string(), z.string()),
});

/**
 * A data subject's key was deleted (crypto-shredding, ADR 0026): every value sealed with it reads as erased from now
 * on, in every copy of the log, while the chain still verifies. Keyed by `erasure:<subject>`, on the alerts topic.
 */
export const SubjectErased = z.object({
  /** The key's subject, e.g. `tenant-a:cus_1042` (or `tenant:tenant-a` with per-tenant keys). */
  subject: z.string().min(1).max(MAX_ID_CHARS),
  /** Keys deleted: 0 when the subject had none (erased before, or never sealed). */
  keysDeleted: z.number().int().nonnegative(),
  erasedBy: Actor,
  reason: Text(MAX_MESSAGE_CHARS),
});

/** An event that could not be handled, with the original bytes and why. Never part of a task's chain. */
export const DeadLettered = z.object({
  worker: Id,
  originalTopic: z.string().min(1).max(MAX_TOPIC_CHARS),
  partition: z.number().int().nonnegative(),
  offset: z.string().min(1).max(MAX_OFFSET_CHARS),
  keyBase64: z.string().nullable(),
  valueBase64: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  errorCode: Id,
  errorMessage: Text(MAX_ERROR_MESSAGE_CHARS),
  stack: Text(MAX_STACK_CHARS).nullable(),
  attempts: z.number().int().nonnegative(),
});

/**
 * Every Warden event type and the zod schema of its data. The single source of truth: TypeScript types are
 * inferred from it and the JSON Schemas in schemas/ are generated from it.
 */
export const eventDataSchemas = {
  TaskSubmitted,
  ModelCalled,
  ModelResponded,
  ModelFailed,
  ActionProposed,
  AnswerProposed,
  ActionApproved,
  ActionRejected,
  EscalationRequested,
  EscalationExpired,
  HumanApproved,
  HumanDenied,
  TaskResumed,
  TaskCancelled,
  ToolSucceeded,
  ToolFailed,
  BreakerOpened,
  BreakerClosed,
  BudgetReserved,
  BudgetExhausted,
  LoopDetected,
  TaskCompleted,
  TaskFailed,
  TaskHalted,
  AlertRaised,
  DeadLettered,
  SubjectErased,
} as const;

/** The name of a Warden event type (past tense). */
export type EventType = keyof typeof eventDataSchemas;

/** The data of one event type. */
export type EventData<T extends EventType> = z.infer<(typeof eventDataSchemas)[T]>;

/** The data of one event type as a producer writes it (before defaults apply). */
export type EventDataInput<T extends EventType> = z.input<(typeof eventDataSchemas)[T]>;

/** Every event type, in a stable order. */
export const eventTypes = Object.keys(eventDataSchemas) as EventType[];

/** True when `value` names a Warden event type. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(eventDataSchemas, value);
}

/**
 * Event types that are not links of a task's hash chain (they describe the pipeline, not the task's steps): a dead
 * letter, and an erasure (which concerns a data subject across tasks, ADR 0026).
 */
export const outOfChainEventTypes: ReadonlySet<EventType> = new Set<EventType>(['DeadLettered', 'SubjectErased']);

/** Event types that end a task. */
export const terminalEventTypes: ReadonlySet<EventType> = new Set<EventType>([
  'TaskCompleted',
  'TaskFailed',
  'TaskHalted',
]);
