/**
 * Labelled points: every resolved proposal of the log as (confidence, tool, risk tier, the guard's verdict, and the
 * outcome that says whether acting would have been right). A point is a pure function of its task's events, so the
 * projection that stores them can be rebuilt from the log. Where no label exists yet the point says so
 * (`label: null`); nothing is guessed.
 */
import type { Confidence, WardenEvent } from '@warden/contracts';

type ConfidenceSource = Confidence['source'];
import type { RiskTier } from '@warden/policy';

/** The reason code of an auto-approved action the guard sampled for a person's review (ADR 0025). */
export const CALIBRATION_REVIEW_CODE = 'calibration_review';

/**
 * Where a label came from, strongest first: a person's decision on a review sample of an auto-approved action, a
 * person's decision on an escalation, the tool's outcome, a fact-check (the guard's grounding check) that failed.
 */
export const LabelSources = ['review', 'person', 'tool_outcome', 'fact_check'] as const;
/** Where a label came from. */
export type LabelSource = (typeof LabelSources)[number];

/** One piece of evidence about whether acting on a proposal was (or would have been) right. */
export interface LabelEvidence {
  readonly correct: boolean;
  readonly source: LabelSource;
  readonly detail: string;
}

/** The guard's verdict on a proposal, as a point records it. */
export interface PointVerdict {
  readonly outcome: 'allow' | 'deny' | 'escalate';
  readonly reasonCode: string;
  readonly policyVersion: string;
  /** The calibrated confidence the verdict was judged on (absent in verdicts recorded before it was carried). */
  readonly calibrated: number | null;
  readonly threshold: number | null;
  readonly calibrationVersion: string | null;
  /** An auto-approvable action the guard sent to a person for review instead (ADR 0025). */
  readonly reviewSample: boolean;
}

/** One resolved (or still unresolved) proposal. */
export interface LabelledPoint {
  /** `<taskId>:<actionId>`. */
  readonly id: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly actionId: string;
  readonly kind: 'action' | 'answer';
  readonly tool: string | null;
  /** The risk tier the guard judged it under (null when the verdict did not say). */
  readonly tier: RiskTier | null;
  readonly proposedAt: string;
  /** The planner's raw confidence, where it came from, and the token log-probability figure when the model gave one. */
  readonly confidence: { readonly raw: number; readonly source: ConfidenceSource; readonly logprob: number | null };
  readonly verdict: PointVerdict | null;
  /** The strongest evidence (see LabelSources); null: no label yet. */
  readonly label: LabelEvidence | null;
  /** Every piece of evidence found, strongest first. */
  readonly evidence: readonly LabelEvidence[];
}

/** What the labelling reads of one event (a compact, storable summary: see calibrationFactOf). */
export type CalibrationFact =
  | { readonly kind: 'model_response'; readonly logprobConfidence: number | null }
  | {
      readonly kind: 'proposal';
      readonly actionId: string;
      readonly proposal: 'action' | 'answer';
      readonly tool: string | null;
      readonly raw: number;
      readonly source: ConfidenceSource;
    }
  | {
      readonly kind: 'verdict';
      readonly actionId: string;
      readonly outcome: 'allow' | 'deny' | 'escalate';
      readonly reasonCode: string;
      readonly policyVersion: string;
      readonly escalationId: string | null;
      readonly confidence: {
        readonly calibrated: number;
        readonly threshold: number;
        readonly tier: RiskTier;
        readonly calibrationVersion: string;
      } | null;
      /** The grounding (fact-check) outcome, when the guard ran it. */
      readonly grounding: 'allow' | 'deny' | 'escalate' | 'skip' | null;
    }
  | { readonly kind: 'decision'; readonly escalationId: string; readonly actionId: string; readonly approved: boolean }
  | {
      readonly kind: 'tool_outcome';
      readonly actionId: string;
      readonly ok: boolean;
      readonly errorClass: string | null;
    };

/** One event's calibration fact with where it sits in its task. */
export interface TaskFact {
  readonly taskId: string;
  readonly tenantId: string;
  readonly seq: number;
  readonly occurredAt: string;
  readonly fact: CalibrationFact;
}

/**
 * Tool failures that say the proposal itself was wrong. Timeouts, open breakers, refusals and unknown outcomes are
 * about the infrastructure, not the proposal: they label nothing.
 */
const PROPOSAL_FAILURES: ReadonlySet<string> = new Set(['invalid_args', 'tool_error', 'invalid_output']);

/** The calibration fact of an event, or undefined when it has none (pure). */
export function calibrationFactOf(event: WardenEvent): CalibrationFact | undefined {
  switch (event.type) {
    case 'ModelResponded':
      return { kind: 'model_response', logprobConfidence: event.data.logprobConfidence };
    case 'ActionProposed':
    case 'AnswerProposed':
      return {
        kind: 'proposal',
        actionId: event.data.actionId,
        proposal: event.type === 'ActionProposed' ? 'action' : 'answer',
        tool: event.type === 'ActionProposed' ? event.data.tool : null,
        raw: event.data.confidence.value,
        source: event.data.confidence.source,
      };
    case 'ActionApproved':
    case 'ActionRejected':
    case 'EscalationRequested': {
      const record = event.type === 'EscalationRequested' ? event.data.verdict : event.data;
      if (event.type === 'EscalationRequested' && event.data.source !== 'guard') return undefined;
      if (record === undefined) return undefined;
      const grounding = record.rulesEvaluated.find((r) => r.rule === 'grounding')?.outcome ?? null;
      const c = record.confidence;
      return {
        kind: 'verdict',
        actionId: record.actionId,
        outcome: event.type === 'ActionApproved' ? 'allow' : event.type === 'ActionRejected' ? 'deny' : 'escalate',
        reasonCode: event.type === 'EscalationRequested' ? event.data.reasonCode : record.reasonCode,
        policyVersion: record.policyVersion,
        escalationId: event.type === 'EscalationRequested' ? event.data.escalationId : null,
        confidence:
          c === undefined
            ? null
            : {
                calibrated: c.calibrated,
                threshold: c.threshold,
                tier: c.tier,
                calibrationVersion: c.calibrationVersion,
              },
        grounding,
      };
    }
    case 'HumanApproved':
    case 'HumanDenied':
      return {
        kind: 'decision',
        escalationId: event.data.escalationId,
        actionId: event.data.actionId,
        approved: event.type === 'HumanApproved',
      };
    case 'ToolSucceeded':
      return { kind: 'tool_outcome', actionId: event.data.actionId, ok: true, errorClass: null };
    case 'ToolFailed':
      return { kind: 'tool_outcome', actionId: event.data.actionId, ok: false, errorClass: event.data.errorClass };
    case 'TaskSubmitted':
    case 'ModelCalled':
    case 'ModelFailed':
    case 'EscalationExpired':
    case 'BreakerOpened':
    case 'BreakerClosed':
    case 'BudgetReserved':
    case 'BudgetExhausted':
    case 'LoopDetected':
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskHalted':
    case 'AlertRaised':
    case 'DeadLettered':
      return undefined;
    default: {
      const never: never = event;
      throw new Error(`unhandled event type ${String((never as { type?: unknown }).type)}`);
    }
  }
}

/** The task facts of some events (any order, any tasks). */
export function taskFactsOf(events: Iterable<WardenEvent>): TaskFact[] {
  const out: TaskFact[] = [];
  for (const e of events) {
    const fact = calibrationFactOf(e);
    if (fact !== undefined)
      out.push({ taskId: e.taskId, tenantId: e.tenantId, seq: e.seq, occurredAt: e.occurredAt, fact });
  }
  return out;
}

const rank = (s: LabelSource): number => LabelSources.indexOf(s);

/**
 * The labelled points of some tasks' facts (any order; a fact read twice counts once per distinct content). One
 * point per proposal (task, actionId; a repeated proposal id keeps the first). Verdicts and decisions are joined by
 * actionId and escalation id; the log-probability figure is the latest model response at or before the proposal.
 */
export function labelPoints(facts: readonly TaskFact[]): LabelledPoint[] {
  const byTask = new Map<string, TaskFact[]>();
  for (const f of facts) {
    const list = byTask.get(f.taskId);
    if (list === undefined) byTask.set(f.taskId, [f]);
    else list.push(f);
  }
  const points: LabelledPoint[] = [];
  for (const [taskId, list] of [...byTask].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ordered = [...list].sort((a, b) => a.seq - b.seq || kindOrder(a.fact) - kindOrder(b.fact));
    const verdicts = new Map<string, Extract<CalibrationFact, { kind: 'verdict' }>>();
    const decisions = new Map<string, Extract<CalibrationFact, { kind: 'decision' }>>();
    const outcomes = new Map<string, Extract<CalibrationFact, { kind: 'tool_outcome' }>>();
    for (const { fact } of ordered) {
      if (fact.kind === 'verdict' && !verdicts.has(fact.actionId)) verdicts.set(fact.actionId, fact);
      if (fact.kind === 'decision' && !decisions.has(fact.escalationId)) decisions.set(fact.escalationId, fact);
      // The last outcome of an action counts: a retry that succeeded after a timeout is the action's outcome.
      if (fact.kind === 'tool_outcome') outcomes.set(fact.actionId, fact);
    }
    let logprob: number | null = null;
    const seen = new Set<string>();
    for (const item of ordered) {
      const { fact } = item;
      if (fact.kind === 'model_response') logprob = fact.logprobConfidence;
      if (fact.kind !== 'proposal' || seen.has(fact.actionId)) continue;
      seen.add(fact.actionId);
      const v = verdicts.get(fact.actionId);
      const reviewSample = v?.outcome === 'escalate' && v.reasonCode === CALIBRATION_REVIEW_CODE;
      const evidence: LabelEvidence[] = [];
      const decision = v?.escalationId == null ? undefined : decisions.get(v.escalationId);
      if (decision !== undefined) {
        evidence.push({
          correct: decision.approved,
          source: reviewSample ? 'review' : 'person',
          detail: `${decision.approved ? 'approved' : 'denied'} by a person (${v?.reasonCode ?? ''})`,
        });
      }
      const outcome = outcomes.get(fact.actionId);
      if (outcome !== undefined && (outcome.ok || PROPOSAL_FAILURES.has(outcome.errorClass ?? ''))) {
        evidence.push({
          correct: outcome.ok,
          source: 'tool_outcome',
          detail: outcome.ok ? 'the tool succeeded' : `the tool failed: ${outcome.errorClass ?? ''}`,
        });
      }
      if (v?.grounding === 'deny' || v?.grounding === 'escalate') {
        evidence.push({ correct: false, source: 'fact_check', detail: `grounding check: ${v.grounding}` });
      }
      evidence.sort((a, b) => rank(a.source) - rank(b.source));
      points.push({
        id: `${taskId}:${fact.actionId}`,
        taskId,
        tenantId: item.tenantId,
        actionId: fact.actionId,
        kind: fact.proposal,
        tool: fact.tool,
        tier: v?.confidence?.tier ?? null,
        proposedAt: item.occurredAt,
        confidence: { raw: fact.raw, source: fact.source, logprob },
        verdict:
          v === undefined
            ? null
            : {
                outcome: v.outcome,
                reasonCode: v.reasonCode,
                policyVersion: v.policyVersion,
                calibrated: v.confidence?.calibrated ?? null,
                threshold: v.confidence?.threshold ?? null,
                calibrationVersion: v.confidence?.calibrationVersion ?? null,
                reviewSample,
              },
        label: evidence[0] ?? null,
        evidence,
      });
    }
  }
  return points;
}

/** Within one seq, a model response precedes the proposal it produced. */
function kindOrder(fact: CalibrationFact): number {
  return fact.kind === 'model_response' ? 0 : 1;
}
