import type { EventType } from '@warden/contracts';

/** The logical topics of Warden. Few, versioned, keyed by taskId. */
export const TopicKinds = [
  'tasks',
  'planning',
  'proposals',
  'verdicts',
  'results',
  'outcomes',
  'alerts',
  'dlq',
] as const;
export type TopicKind = (typeof TopicKinds)[number];

/** Which topic each event type travels on. */
export const topicKindOf: Readonly<Record<EventType, TopicKind>> = {
  TaskSubmitted: 'tasks',
  ModelCalled: 'planning',
  ModelResponded: 'planning',
  ModelFailed: 'planning',
  BudgetReserved: 'planning',
  BudgetExhausted: 'planning',
  LoopDetected: 'planning',
  ActionProposed: 'proposals',
  AnswerProposed: 'proposals',
  ActionApproved: 'verdicts',
  ActionRejected: 'verdicts',
  EscalationRequested: 'verdicts',
  EscalationExpired: 'verdicts',
  HumanApproved: 'verdicts',
  HumanDenied: 'verdicts',
  TaskResumed: 'verdicts',
  TaskCancelled: 'verdicts',
  ToolSucceeded: 'results',
  ToolFailed: 'results',
  TaskCompleted: 'outcomes',
  TaskFailed: 'outcomes',
  TaskHalted: 'outcomes',
  AlertRaised: 'alerts',
  SubjectErased: 'alerts',
  BreakerOpened: 'alerts',
  BreakerClosed: 'alerts',
  DeadLettered: 'dlq',
};

/** Concrete topic names under a prefix: `<prefix>.<kind>.v1`. */
export class Topics {
  constructor(readonly prefix: string = 'warden') {}

  /** The topic of a kind. */
  of(kind: TopicKind): string {
    return `${this.prefix}.${kind}.v1`;
  }

  /** The topic an event type travels on. */
  forType(type: EventType): string {
    return this.of(topicKindOf[type]);
  }

  /** The distinct topics carrying any of these event types. */
  forTypes(types: readonly EventType[]): string[] {
    return [...new Set(types.map((t) => this.forType(t)))];
  }

  /** A stateful worker's compacted state changelog (ADR 0027): `<prefix>.<worker>-state.v1`. */
  stateOf(worker: string): string {
    return `${this.prefix}.${worker}-state.v1`;
  }

  /** Every Warden topic. */
  all(): string[] {
    return TopicKinds.map((k) => this.of(k));
  }
}

/**
 * Settings of every audit topic: keep forever, never compact. A topic whose settings would lose audit data is
 * refused by the auditor at startup.
 */
export const auditTopicConfig: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'retention.bytes': '-1',
};
