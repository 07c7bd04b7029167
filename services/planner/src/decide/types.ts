import type {
  ChatMessage,
  Claim,
  Confidence,
  HeldEscalation,
  HeldHalt,
  JsonObject,
  JsonValue,
  TokenUsage,
} from '@warden/contracts';

/** Loop detection thresholds. */
export interface LoopSettings {
  /** The same (tool, argsHash) failing this many times is a loop (2: "failing again"). */
  readonly maxRepeatedFailures: number;
  /** The same (tool, argsHash) succeeding with the same result this many times is a loop. */
  readonly maxRepeatedSuccesses: number;
  /** A cycle of 2 or 3 distinct calls repeated this many times in a row is an oscillation. */
  readonly oscillationCycles: number;
  /** This many consecutive results that bring nothing new is "no progress". */
  readonly maxStepsWithoutNewInfo: number;
}

/** Context window settings, in tokens. */
export interface WindowSettings {
  /** Turns (assistant message and its replies) kept verbatim; older ones go into the running summary. */
  readonly lastTurns: number;
  /** Largest tool output that enters the context as is; larger ones are cut and summarised to this. */
  readonly toolOutputMaxTokens: number;
  /** Largest running summary of old turns. */
  readonly summaryMaxTokens: number;
}

/** The limits one task runs under, after clamping its own budgets to the tenant's ceilings. */
export interface TaskLimits {
  readonly maxTokens: number;
  readonly maxCostUsd: number;
  readonly maxSteps: number;
  readonly maxWallTimeMs: number;
  readonly maxConsecutiveFailures: number;
}

/** One tool call the model made, as the API returned it. */
export interface RawToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** One turn of the conversation: the model's message, then the replies to it (tool results, feedback). */
export interface Turn {
  readonly assistant: ChatMessage;
  readonly replies: readonly ChatMessage[];
  /** Confidence derived from the token logprobs of the assistant content, when given. */
  readonly logprobConfidence: number | null;
}

/** What the planner did and how it ended: the per-task action history loop detection reads. */
export interface ActionRecord {
  readonly actionId: string;
  readonly tool: string;
  readonly argsHash: string;
  readonly outcome: 'succeeded' | 'failed' | 'rejected' | 'denied';
  /** sha256 of the result (successes) or of the error class and message (failures). */
  readonly resultHash: string;
  /** A short line for summaries and partial results. */
  readonly note: string;
}

/** The proposal waiting for its verdict or result. */
export type PendingProposal =
  | {
      readonly kind: 'action';
      readonly actionId: string;
      readonly tool: string;
      readonly argsHash: string;
      readonly toolCallId: string;
    }
  | {
      readonly kind: 'answer';
      readonly actionId: string;
      readonly answer: string;
      readonly output?: JsonValue;
    };

/** Where a task is. */
export const TaskStatuses = ['planning', 'waiting', 'completed', 'failed', 'halted'] as const;
/** Where a task is. */
export type TaskStatus = (typeof TaskStatuses)[number];

/** Token and money totals of a task. */
export interface Totals {
  readonly usage: TokenUsage;
  readonly costUsd: number;
}

/** A reservation of the task's budget made for a model call and not settled yet (ADR 0031). */
export interface OpenReservation {
  readonly callId: string;
  readonly tokens: number;
  readonly microUsd: number;
}

/**
 * The task's own budget figures (ADR 0031): what it has committed (used, plus the open reservation if any), in tokens
 * and whole micro-USD, the integers a reservation is checked with. Kept in the task's keyed state, so a reservation
 * needs no store: the task's partition serialises its handlings.
 */
export interface TaskBudget {
  readonly tokens: number;
  readonly microUsd: number;
  /** The reservation of the model call in progress; a handling settles it before it commits. */
  readonly open?: OpenReservation;
}

/**
 * The planner's state of one task: a projection of the task's events (rebuildable by folding them with evolve()),
 * kept in the planner's keyed state (ADR 0029).
 */
export interface TaskState {
  readonly taskId: string;
  /** The TaskSubmitted that defined the task: the same one again changes nothing, another one is a conflict. */
  readonly submittedEventId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly goal: string;
  readonly input: JsonObject;
  readonly scopeTools: readonly string[];
  readonly startedAtMs: number;
  readonly limits: TaskLimits;
  readonly status: TaskStatus;
  /** Proposals made so far. */
  readonly steps: number;
  readonly modelCalls: number;
  readonly turns: readonly Turn[];
  /** Tool calls of the last turn still to propose (parallel calls are proposed one at a time). */
  readonly queue: readonly RawToolCall[];
  readonly pending: PendingProposal | null;
  readonly history: readonly ActionRecord[];
  readonly consecutiveFailures: number;
  readonly totals: Totals;
  /** Ids of the events folded in (the last ones), so a redelivered event is not applied twice. */
  readonly applied: readonly string[];
  /** Why the task ended, once it has. */
  readonly endReason: string | null;
  /**
   * The task's escalations (the last few), as EscalationRequested stated them: a person's decision counts only if
   * it answers exactly one of them. Absent in states saved before escalations were kept.
   */
  readonly escalations?: readonly HeldEscalation[];
  /** The halt the task is in (its TaskHalted event), which an admin may resume or cancel; absent otherwise. */
  readonly halt?: HeldHalt;
  /** Loop detection reads the history from here on: an admin's resume starts it afresh (0 when absent). */
  readonly loopFrom?: number;
  /** How many times an admin resumed the task (each later halt gets its own escalation id). */
  readonly resumes?: number;
  /**
   * The steps of a given plan (a rollback, ADR 0026), proposed in order without a model. Absent for a planned task.
   */
  readonly given?: readonly GivenPlanStep[];
  /**
   * The task's budget figures (ADR 0031). Absent in states saved before they were kept: derived from `totals` then
   * (taskBudgetOf), which counts the same committed calls.
   */
  readonly budget?: TaskBudget;
}

/** One step of a given plan, as the planner keeps it. */
export interface GivenPlanStep {
  readonly actionId: string;
  readonly tool: string;
  readonly args: JsonObject;
  readonly reasoning: string;
}

/** A proposal the model's output turned into: one tool call or the answer. */
export type Interpretation =
  | {
      readonly kind: 'action';
      readonly toolCallId: string;
      readonly tool: string;
      readonly args: JsonObject;
      readonly reasoning: string;
      readonly confidence: Confidence;
      readonly claims: Claim[];
    }
  | {
      readonly kind: 'answer';
      readonly answer: string;
      readonly reasoning: string;
      readonly confidence: Confidence;
      readonly claims: Claim[];
    }
  | { readonly kind: 'bad_output'; readonly errorClass: BadOutputClass; readonly message: string };

/** The kinds of unusable model output (a subset of ModelFailed.errorClass). */
export const BadOutputClasses = ['malformed_arguments', 'unknown_tool', 'missing_fields', 'empty_answer'] as const;
/** A kind of unusable model output. */
export type BadOutputClass = (typeof BadOutputClasses)[number];

/** Counts tokens; injected so decide() stays free of the tokenizer's setup (and testable with a fake). */
export interface TokenCounter {
  /** Tokens of a text. */
  count(text: string): number;
  /** The longest prefix of the text within maxTokens. */
  truncate(text: string, maxTokens: number): string;
}
