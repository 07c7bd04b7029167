import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { ChainBreakKinds, type EventData } from '@warden/contracts';
import { RuntimeMetricNames as R } from './telemetry.js';

/**
 * Label values known in advance. Their counters are set to 0 at start, so a series exists before its first event
 * and an alert on increase() sees the first one (a series born at 1 shows no increase).
 */
const LOOP_KINDS = [
  'repeated_failure',
  'repeated_success',
  'oscillation',
  'no_progress',
] as const satisfies ReadonlyArray<EventData<'LoopDetected'>['kind']>;
const ESCALATION_SOURCES = ['guard', 'planner', 'executor', 'auditor'] as const satisfies ReadonlyArray<
  EventData<'EscalationRequested'>['source']
>;
const DECISIONS = ['approved', 'denied'] as const;

/**
 * The agent metrics of Warden's workers, named once here (Prometheus names as /metrics shows them: units in the
 * name, counters ending in _total). The dashboard and the alert rules in infra/observability/ use these names; a
 * test scrapes the workers and checks that every name they use is exposed with the type given here.
 */
export const AgentMetricNames = {
  // planner
  modelTokens: 'warden_model_tokens_total',
  modelCostUsd: 'warden_model_cost_usd_total',
  modelCalls: 'warden_model_calls_total',
  modelCallDuration: 'warden_model_call_duration_seconds',
  budgetRefused: 'warden_budget_reservations_refused_total',
  budgetTenantRemainingUsd: 'warden_budget_tenant_remaining_usd',
  budgetTenantLimitUsd: 'warden_budget_tenant_limit_usd',
  loopsDetected: 'warden_loops_detected_total',
  // guard
  verdicts: 'warden_guard_verdicts_total',
  confidence: 'warden_guard_confidence_ratio',
  // executor
  breakerState: 'warden_breaker_state',
  breakerTransitions: 'warden_breaker_transitions_total',
  toolCalls: 'warden_tool_calls_total',
  toolCallDuration: 'warden_tool_call_duration_seconds',
  // escalation service
  escalationsOpened: 'warden_escalations_opened_total',
  escalationsDecided: 'warden_escalations_decided_total',
  escalationsExpired: 'warden_escalations_expired_total',
  escalationDecisionTime: 'warden_escalation_time_to_decision_seconds',
  escalationsOverdue: 'warden_escalations_overdue',
  // auditor
  auditLag: 'warden_audit_projection_lag_seconds',
  dlqDepth: 'warden_dlq_depth_messages',
  chainBreaks: 'warden_audit_chain_breaks_total',
} as const;

/** The Prometheus type of a metric. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One agent metric: its name, type, the worker that exposes it and its labels (each a bounded set). */
export interface AgentMetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly worker: 'planner' | 'guard' | 'executor' | 'escalation' | 'auditor';
  readonly labels: readonly string[];
  readonly help: string;
}

const N = AgentMetricNames;

/** Every agent metric, with its type, its worker and its labels. */
export const AgentMetricCatalog: readonly AgentMetricSpec[] = [
  {
    name: N.modelTokens,
    type: 'counter',
    worker: 'planner',
    labels: ['model', 'tenant', 'token_type'],
    help: 'Model tokens charged, input and output',
  },
  {
    name: N.modelCostUsd,
    type: 'counter',
    worker: 'planner',
    labels: ['model', 'tenant'],
    help: 'Model cost charged, USD',
  },
  {
    name: N.modelCalls,
    type: 'counter',
    worker: 'planner',
    labels: ['model', 'outcome'],
    help: 'Model calls by outcome',
  },
  {
    name: N.modelCallDuration,
    type: 'histogram',
    worker: 'planner',
    labels: ['model'],
    help: 'Model call duration, retries included',
  },
  {
    name: N.budgetRefused,
    type: 'counter',
    worker: 'planner',
    labels: ['tenant', 'budget'],
    help: 'Budget reservations refused, by budget',
  },
  {
    name: N.budgetTenantRemainingUsd,
    type: 'gauge',
    worker: 'planner',
    labels: ['tenant'],
    help: "A tenant's money budget left at its last reservation, USD",
  },
  {
    name: N.budgetTenantLimitUsd,
    type: 'gauge',
    worker: 'planner',
    labels: ['tenant'],
    help: "A tenant's money budget, USD",
  },
  { name: N.loopsDetected, type: 'counter', worker: 'planner', labels: ['kind'], help: 'Loops detected, by kind' },
  {
    name: N.verdicts,
    type: 'counter',
    worker: 'guard',
    labels: ['verdict', 'rule', 'reason_code'],
    help: 'Guard verdicts by rule fired and reason code',
  },
  {
    name: N.confidence,
    type: 'histogram',
    worker: 'guard',
    labels: ['verdict', 'outcome'],
    help: "Proposals' confidence by verdict and outcome",
  },
  {
    name: N.breakerState,
    type: 'gauge',
    worker: 'executor',
    labels: ['tool'],
    help: 'Tool breaker state: 0 closed, 0.5 half-open, 1 open',
  },
  {
    name: N.breakerTransitions,
    type: 'counter',
    worker: 'executor',
    labels: ['tool', 'to'],
    help: 'Tool breaker transitions, by state entered',
  },
  {
    name: N.toolCalls,
    type: 'counter',
    worker: 'executor',
    labels: ['tool', 'outcome'],
    help: 'Tool executions by outcome',
  },
  {
    name: N.toolCallDuration,
    type: 'histogram',
    worker: 'executor',
    labels: ['tool'],
    help: 'Tool execution duration',
  },
  {
    name: N.escalationsOpened,
    type: 'counter',
    worker: 'escalation',
    labels: ['source'],
    help: 'Escalations opened, by the worker that asked',
  },
  {
    name: N.escalationsDecided,
    type: 'counter',
    worker: 'escalation',
    labels: ['decision'],
    help: 'Escalations decided by a person',
  },
  {
    name: N.escalationsExpired,
    type: 'counter',
    worker: 'escalation',
    labels: [],
    help: 'Escalations nobody decided before their expiry',
  },
  {
    name: N.escalationDecisionTime,
    type: 'histogram',
    worker: 'escalation',
    labels: ['decision'],
    help: 'Time from an escalation to its decision',
  },
  {
    name: N.escalationsOverdue,
    type: 'gauge',
    worker: 'escalation',
    labels: [],
    help: 'Pending escalations past their expiry, at the last expiry check',
  },
  {
    name: N.auditLag,
    type: 'gauge',
    worker: 'auditor',
    labels: [],
    help: 'Age of the newest event projected, at its projection',
  },
  { name: N.dlqDepth, type: 'gauge', worker: 'auditor', labels: ['topic'], help: 'Messages in a dead-letter topic' },
  {
    name: N.chainBreaks,
    type: 'counter',
    worker: 'auditor',
    labels: ['kind'],
    help: 'Hash-chain breaks found (raised once each)',
  },
];

/** The generic metrics every defineWorker worker exposes (telemetry.ts), as Prometheus names them. */
export const WorkerMetricCatalog: ReadonlyArray<{ readonly name: string; readonly type: MetricType }> = [
  { name: `${R.messagesIn}_total`, type: 'counter' },
  { name: `${R.messagesOut}_total`, type: 'counter' },
  { name: R.handlerDuration, type: 'histogram' },
  { name: R.commitDuration, type: 'histogram' },
  { name: `${R.errors}_total`, type: 'counter' },
  { name: `${R.deadLettered}_total`, type: 'counter' },
  { name: `${R.duplicates}_total`, type: 'counter' },
  { name: R.consumerLag, type: 'gauge' },
  { name: R.inFlight, type: 'gauge' },
];

/** The label value of whatever is past a cap. */
export const OTHER_LABEL = 'other';

/**
 * Bounds a label's values: the first `max` distinct values keep their name, later ones become `other`, so a
 * metric never grows a series per tenant (or model) without limit. The values seen are remembered (at most `max`).
 */
export class CappedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  /** The label value for `value`. */
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}

/** Bucket bounds for durations of model and tool calls, seconds. */
const CALL_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Bucket bounds for people's decisions, seconds (a minute to a day). */
const DECISION_SECONDS = [10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400];
/** Bucket bounds of a confidence in 0..1. */
const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1];

const helpOf = (name: string): string => AgentMetricCatalog.find((m) => m.name === name)?.help ?? name;

/** A counter named as Prometheus shows it (the exporter adds `_total` itself; it is not doubled). */
const counter = (meter: Meter, name: string): Counter => meter.createCounter(name, { description: helpOf(name) });
const histogram = (meter: Meter, name: string, unit: string, bounds: number[]): Histogram =>
  meter.createHistogram(name, { unit, description: helpOf(name), advice: { explicitBucketBoundaries: bounds } });

/** Observable values kept in a map by their label set (the last value of each). */
class LastValues {
  private readonly values = new Map<string, { attrs: Attributes; value: number }>();
  set(attrs: Attributes, value: number): void {
    this.values.set(JSON.stringify(attrs), { attrs, value });
  }
  observe(meter: Meter, name: string): void {
    meter.createObservableGauge(name, { description: helpOf(name) }).addCallback((r) => {
      for (const v of this.values.values()) r.observe(v.value, v.attrs);
    });
  }
}

/** The planner's agent metrics. */
export interface PlannerMetrics {
  /** A model call's charged usage and cost. */
  modelCall(m: {
    model: string;
    tenantId: string;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
    durationS: number;
    ok: boolean;
  }): void;
  /** A reservation refused. */
  budgetRefused(tenantId: string, budget: string): void;
  /** A tenant's money budget at a reservation: its limit and what is left after it. */
  tenantBudget(tenantId: string, limitUsd: number, remainingUsd: number): void;
  loopDetected(kind: string): void;
}

/** Instruments of the planner's metrics on a worker's meter. */
export function createPlannerMetrics(meter: Meter, maxTenants: number): PlannerMetrics {
  const tenants = new CappedLabel(maxTenants);
  const models = new CappedLabel(maxTenants);
  const tokens = counter(meter, N.modelTokens);
  const cost = counter(meter, N.modelCostUsd);
  const calls = counter(meter, N.modelCalls);
  const duration = histogram(meter, N.modelCallDuration, 's', CALL_SECONDS);
  const refused = counter(meter, N.budgetRefused);
  const loops = counter(meter, N.loopsDetected);
  for (const kind of LOOP_KINDS) loops.add(0, { kind });
  const remaining = new LastValues();
  const limit = new LastValues();
  remaining.observe(meter, N.budgetTenantRemainingUsd);
  limit.observe(meter, N.budgetTenantLimitUsd);
  return {
    modelCall(m) {
      const model = models.of(m.model);
      const tenant = tenants.of(m.tenantId);
      calls.add(1, { model, outcome: m.ok ? 'ok' : 'failed' });
      duration.record(m.durationS, { model });
      if (!m.ok) return;
      tokens.add(m.inputTokens, { model, tenant, token_type: 'input' });
      tokens.add(m.outputTokens, { model, tenant, token_type: 'output' });
      cost.add(m.costUsd, { model, tenant });
    },
    budgetRefused: (tenantId, budget) => refused.add(1, { tenant: tenants.of(tenantId), budget }),
    tenantBudget(tenantId, limitUsd, remainingUsd) {
      const tenant = tenants.of(tenantId);
      if (tenant === OTHER_LABEL) return; // a sum of several tenants' budgets would mean nothing
      limit.set({ tenant }, limitUsd);
      remaining.set({ tenant }, remainingUsd);
    },
    loopDetected: (kind) => loops.add(1, { kind }),
  };
}

/** The most proposals the guard remembers while their outcome is unknown (the oldest is forgotten first). */
export const CONFIDENCE_PENDING_MAX = 10_000;

/** The guard's agent metrics. */
export interface GuardMetrics {
  /**
   * A verdict: allow / deny / escalate, the rule that fired, its reason code. The proposal's confidence is recorded
   * with outcome `not_run` for a denial, and remembered for an approval or an escalation until its tool's outcome.
   */
  verdict(v: {
    taskId: string;
    actionId: string;
    verdict: string;
    rule: string;
    reasonCode: string;
    confidence: number;
  }): void;
  /** The outcome of an action the guard judged (a ToolSucceeded or ToolFailed): its confidence is recorded now. */
  outcome(taskId: string, actionId: string, outcome: 'succeeded' | 'failed'): void;
}

/** Instruments of the guard's metrics. */
export function createGuardMetrics(meter: Meter, pendingMax = CONFIDENCE_PENDING_MAX): GuardMetrics {
  const verdicts = counter(meter, N.verdicts);
  const confidence = histogram(meter, N.confidence, '1', CONFIDENCE_BUCKETS);
  // Approximate by design: a task's results reach the replica that judged its proposals (both keyed by taskId),
  // but a rebalance in between, or an outcome that never comes (an escalation nobody approves), leaves it out.
  const pending = new Map<string, { verdict: string; confidence: number }>();
  return {
    verdict(v) {
      verdicts.add(1, { verdict: v.verdict, rule: v.rule, reason_code: v.reasonCode });
      if (v.verdict === 'deny') {
        confidence.record(v.confidence, { verdict: v.verdict, outcome: 'not_run' });
        return;
      }
      if (pending.size >= pendingMax) pending.delete(pending.keys().next().value!);
      pending.set(`${v.taskId}|${v.actionId}`, { verdict: v.verdict, confidence: v.confidence });
    },
    outcome(taskId, actionId, outcome) {
      const key = `${taskId}|${actionId}`;
      const p = pending.get(key);
      if (p === undefined) return;
      pending.delete(key);
      confidence.record(p.confidence, { verdict: p.verdict, outcome });
    },
  };
}

/** Breaker states as gauge values. */
export const BreakerStateValues = { closed: 0, halfOpen: 0.5, open: 1 } as const;

/** The executor's agent metrics. */
export interface ExecutorMetrics {
  /** A breaker entered a state. */
  breakerTransition(tool: string, to: keyof typeof BreakerStateValues): void;
  toolCall(tool: string, outcome: string, durationS: number): void;
}

/** Instruments of the executor's metrics; `states` gives each known tool's breaker state when scraped. */
export function createExecutorMetrics(
  meter: Meter,
  states: () => Iterable<readonly [string, keyof typeof BreakerStateValues]>,
): ExecutorMetrics {
  const transitions = counter(meter, N.breakerTransitions);
  const calls = counter(meter, N.toolCalls);
  const duration = histogram(meter, N.toolCallDuration, 's', CALL_SECONDS);
  meter.createObservableGauge(N.breakerState, { description: helpOf(N.breakerState) }).addCallback((r) => {
    for (const [tool, state] of states()) r.observe(BreakerStateValues[state], { tool });
  });
  return {
    breakerTransition: (tool, to) => transitions.add(1, { tool, to }),
    toolCall(tool, outcome, durationS) {
      calls.add(1, { tool, outcome });
      duration.record(durationS, { tool });
    },
  };
}

/** The escalation service's agent metrics. */
export interface EscalationMetrics {
  opened(source: string): void;
  decided(decision: 'approved' | 'denied', waitedS: number): void;
  expired(): void;
  /** Pending escalations past their expiry at an expiry check. */
  overdue(count: number): void;
}

/** Instruments of the escalation service's metrics. */
export function createEscalationMetrics(meter: Meter): EscalationMetrics {
  const opened = counter(meter, N.escalationsOpened);
  const decided = counter(meter, N.escalationsDecided);
  const expired = counter(meter, N.escalationsExpired);
  const time = histogram(meter, N.escalationDecisionTime, 's', DECISION_SECONDS);
  for (const source of ESCALATION_SOURCES) opened.add(0, { source });
  for (const decision of DECISIONS) decided.add(0, { decision });
  expired.add(0);
  let overdue = 0;
  meter
    .createObservableGauge(N.escalationsOverdue, { description: helpOf(N.escalationsOverdue) })
    .addCallback((r) => r.observe(overdue));
  return {
    opened: (source) => opened.add(1, { source }),
    decided(decision, waitedS) {
      decided.add(1, { decision });
      time.record(waitedS, { decision });
    },
    expired: () => expired.add(1),
    overdue(count) {
      overdue = count;
    },
  };
}

/** The auditor's agent metrics. */
export interface AuditorMetrics {
  /** The age of the newest event of a projected batch. */
  projected(lagS: number): void;
  /** The messages in a dead-letter topic (its partitions' high watermarks: the audit topics never delete). */
  dlqDepth(topic: string, messages: number): void;
  chainBreak(kind: string): void;
}

/** Instruments of the auditor's metrics. */
export function createAuditorMetrics(meter: Meter): AuditorMetrics {
  const breaks = counter(meter, N.chainBreaks);
  for (const kind of Object.values(ChainBreakKinds)) breaks.add(0, { kind });
  const depth = new LastValues();
  depth.observe(meter, N.dlqDepth);
  let lag: number | undefined;
  meter.createObservableGauge(N.auditLag, { unit: 's', description: helpOf(N.auditLag) }).addCallback((r) => {
    if (lag !== undefined) r.observe(lag);
  });
  return {
    projected(lagS) {
      lag = Math.max(0, lagS);
    },
    dlqDepth: (topic, messages) => depth.set({ topic }, messages),
    chainBreak: (kind) => breaks.add(1, { kind }),
  };
}
