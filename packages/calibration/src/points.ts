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
    case 'TaskResumed':
    case 'TaskCancelled':
    case 'SubjectErased':
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

type ProposalFact = Extract<CalibrationFact, { kind: 'proposal' }>;
type VerdictFact = Extract<CalibrationFact, { kind: 'verdict' }>;
type DecisionFact = Extract<CalibrationFact, { kind: 'decision' }>;
type OutcomeFact = Extract<CalibrationFact, { kind: 'tool_outcome' }>;
interface At<F> {
  readonly seq: number;
  readonly occurredAt: string;
  readonly fact: F;
}

/**
 * One task's labelled points, built incrementally: add() takes each fact in any order (O(1) for facts in seq order)
 * and says which proposals' points it may have changed. The result depends only on the set of facts, never on their
 * order: per action the first proposal and the first verdict by seq count, a decision joins its verdict by
 * escalation id, the last tool outcome by seq counts (a retry that succeeded after a timeout is the action's
 * outcome; on a tie a success wins), and the log-probability figure is the latest model response at or before the
 * proposal's seq.
 */
export class TaskPoints {
  private readonly proposals = new Map<string, At<ProposalFact>>();
  private readonly verdicts = new Map<string, At<VerdictFact>>();
  private readonly decisions = new Map<string, At<DecisionFact>>();
  private readonly outcomes = new Map<string, At<OutcomeFact>>();
  /** Model responses sorted by seq (then logprob, so equal seqs resolve the same in any order). */
  private readonly responses: { seq: number; logprob: number | null }[] = [];
  private maxProposalSeq = -1;

  constructor(
    readonly taskId: string,
    readonly tenantId: string,
  ) {}

  /** Adds one fact; returns the action ids whose point may have changed. */
  add(item: TaskFact): string[] {
    const { fact, seq, occurredAt } = item;
    switch (fact.kind) {
      case 'model_response': {
        const entry = { seq, logprob: fact.logprobConfidence };
        let i = this.responses.length;
        while (i > 0 && compareResponse(this.responses[i - 1]!, entry) > 0) i--;
        this.responses.splice(i, 0, entry);
        if (seq > this.maxProposalSeq) return [];
        return [...this.proposals.values()].filter((p) => p.seq >= seq).map((p) => p.fact.actionId);
      }
      case 'proposal': {
        const known = this.proposals.get(fact.actionId);
        if (known !== undefined && known.seq <= seq) return [];
        this.proposals.set(fact.actionId, { seq, occurredAt, fact });
        this.maxProposalSeq = Math.max(this.maxProposalSeq, seq);
        return [fact.actionId];
      }
      case 'verdict': {
        const known = this.verdicts.get(fact.actionId);
        if (known !== undefined && known.seq <= seq) return [];
        this.verdicts.set(fact.actionId, { seq, occurredAt, fact });
        return [fact.actionId];
      }
      case 'decision': {
        const known = this.decisions.get(fact.escalationId);
        if (known !== undefined && known.seq <= seq) return [];
        this.decisions.set(fact.escalationId, { seq, occurredAt, fact });
        const owner = [...this.verdicts.values()].find((v) => v.fact.escalationId === fact.escalationId);
        return owner === undefined ? [fact.actionId] : [owner.fact.actionId];
      }
      case 'tool_outcome': {
        const known = this.outcomes.get(fact.actionId);
        if (known !== undefined && (known.seq > seq || (known.seq === seq && (known.fact.ok || !fact.ok)))) return [];
        this.outcomes.set(fact.actionId, { seq, occurredAt, fact });
        return [fact.actionId];
      }
      default: {
        const never: never = fact;
        throw new Error(`unhandled calibration fact ${String((never as { kind?: unknown }).kind)}`);
      }
    }
  }

  /** The point of one proposal (undefined until its proposal is known). */
  point(actionId: string): LabelledPoint | undefined {
    const proposal = this.proposals.get(actionId);
    if (proposal === undefined) return undefined;
    const fact = proposal.fact;
    const v = this.verdicts.get(actionId)?.fact;
    const reviewSample = v?.outcome === 'escalate' && v.reasonCode === CALIBRATION_REVIEW_CODE;
    const evidence: LabelEvidence[] = [];
    const decision = v?.escalationId == null ? undefined : this.decisions.get(v.escalationId)?.fact;
    if (decision !== undefined) {
      evidence.push({
        correct: decision.approved,
        source: reviewSample ? 'review' : 'person',
        detail: `${decision.approved ? 'approved' : 'denied'} by a person (${v?.reasonCode ?? ''})`,
      });
    }
    const outcome = this.outcomes.get(actionId)?.fact;
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
    return {
      id: `${this.taskId}:${actionId}`,
      taskId: this.taskId,
      tenantId: this.tenantId,
      actionId,
      kind: fact.proposal,
      tool: fact.tool,
      tier: v?.confidence?.tier ?? null,
      proposedAt: proposal.occurredAt,
      confidence: { raw: fact.raw, source: fact.source, logprob: this.logprobAt(proposal.seq) },
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
    };
  }

  /** Every point, in proposal order (seq, then action id). */
  points(): LabelledPoint[] {
    return [...this.proposals.values()]
      .sort((a, b) => a.seq - b.seq || (a.fact.actionId < b.fact.actionId ? -1 : 1))
      .map((p) => this.point(p.fact.actionId)!);
  }

  /** The logprob figure of the latest model response at or before a seq (a response precedes its proposal). */
  private logprobAt(seq: number): number | null {
    let lo = 0;
    let hi = this.responses.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.responses[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : this.responses[lo - 1]!.logprob;
  }
}

function compareResponse(
  a: { seq: number; logprob: number | null },
  b: { seq: number; logprob: number | null },
): number {
  return a.seq - b.seq || (a.logprob ?? -1) - (b.logprob ?? -1);
}

/** The labelled points of some tasks' facts (any order; see TaskPoints), by task id then proposal order. */
export function labelPoints(facts: readonly TaskFact[]): LabelledPoint[] {
  const byTask = new Map<string, TaskPoints>();
  for (const f of facts) {
    let task = byTask.get(f.taskId);
    if (task === undefined) byTask.set(f.taskId, (task = new TaskPoints(f.taskId, f.tenantId)));
    task.add(f);
  }
  return [...byTask].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([, task]) => task.points());
}
