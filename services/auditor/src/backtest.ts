import {
  fetchVerified,
  isBlobRef,
  validateEvent,
  type BlobStore,
  type MagnitudeLimits,
  type WardenEvent,
  type WireEnvelope,
} from '@warden/contracts';
import {
  argsImpactEstimator,
  capLimits,
  decide,
  evolve,
  guardStateOf,
  initialTaskView,
  openProposal,
  proposalFromEvent,
  validateToolOutput,
  verdictOnSealed,
  type ImpactEstimator,
  type Policy,
  type SealedOpener,
} from '@warden/policy';
import type { AuditStore } from './projector/store.js';

/** A verdict outcome. */
export type Outcome = 'allow' | 'deny' | 'escalate';

/** One proposal whose verdict the candidate policy would change. */
export interface VerdictChange {
  readonly taskId: string;
  readonly tenantId: string;
  readonly actionId: string;
  readonly tool: string | null;
  readonly recorded: { readonly outcome: Outcome; readonly reasonCode: string; readonly policyVersion: string };
  readonly candidate: { readonly outcome: Outcome; readonly reasonCode: string; readonly ruleFired: string | null };
}

/** What a backtest found. */
export interface BacktestReport {
  readonly policyVersion: string;
  readonly tasks: number;
  readonly proposals: number;
  /** Proposals with no recorded verdict (still in flight, or lost): judged, not compared. */
  readonly unjudged: number;
  readonly changed: VerdictChange[];
  /** Recorded outcome → candidate outcome → count. */
  readonly matrix: Record<Outcome, Record<Outcome, number>>;
}

function outcomeOf(event: WardenEvent): { outcome: Outcome; reasonCode: string } | undefined {
  switch (event.type) {
    case 'ActionApproved':
      return { outcome: 'allow', reasonCode: event.data.reasonCode };
    case 'ActionRejected':
      return { outcome: 'deny', reasonCode: event.data.reasonCode };
    case 'EscalationRequested':
      return event.data.source === 'guard' ? { outcome: 'escalate', reasonCode: event.data.reasonCode } : undefined;
    default:
      return undefined;
  }
}

/** Options of a backtest. */
export interface BacktestOptions {
  /** The tenant caps on magnitude limits the live guard ran with (GUARD_TENANT_CAPS); unset: a task's limits hold. */
  readonly tenantCaps?: (tenantId: string) => MagnitudeLimits | undefined;
  /**
   * Opens sealed personal data (ADR 0026) in memory, as the live guard does: tool results for grounding, and the
   * proposals' sealed args and answers (judged clear; an erased value escalates). Unset: judged as the log holds
   * them (a sealed value grounds nothing).
   */
  readonly opener?: SealedOpener;
}

/**
 * Replays one task's recorded proposals through a candidate policy, offline and without side effects: the guard's
 * view of the task at each proposal is folded from the task's own events before it with evolve() from
 * @warden/policy, the fold the live guard runs (the task, the tool results that pass the candidate's output
 * validation, retrieved facts, the impact approved so far), the state is built from it as the guard builds it (the
 * impact the recorded verdict was made on, else the estimator's), decide() judges it, and the verdict is compared
 * with the one recorded.
 */
export async function backtestTask(
  events: readonly WardenEvent[],
  policy: Policy,
  estimateImpact: ImpactEstimator = argsImpactEstimator,
  options: BacktestOptions = {},
): Promise<Omit<BacktestReport, 'policyVersion' | 'tasks'>> {
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  const verdictOf = new Map<string, WardenEvent>();
  for (const e of ordered) if (e.causationId !== null && outcomeOf(e) !== undefined) verdictOf.set(e.causationId, e);
  let view = initialTaskView(ordered[0]?.taskId ?? '');
  const changed: VerdictChange[] = [];
  const matrix: BacktestReport['matrix'] = {
    allow: { allow: 0, deny: 0, escalate: 0 },
    deny: { allow: 0, deny: 0, escalate: 0 },
    escalate: { allow: 0, deny: 0, escalate: 0 },
  };
  let proposals = 0;
  let unjudged = 0;
  for (const e of ordered) {
    if (e.type === 'TaskSubmitted') {
      const cap = options.tenantCaps?.(e.tenantId);
      const data = cap === undefined ? e.data : { ...e.data, limits: capLimits(e.data.limits, cap).limits };
      view = evolve(view, { type: 'TaskSubmitted', tenantId: e.tenantId, data });
    } else if (e.type === 'ToolSucceeded') {
      const result = options.opener === undefined ? e.data.result : await options.opener.open(e.data.result);
      if (validateToolOutput(e.data.tool, result, policy).ok)
        view = evolve(view, { ...e, data: { ...e.data, result } });
    } else if (e.type === 'ActionApproved') view = evolve(view, e);
    else if (e.type === 'ActionProposed' || e.type === 'AnswerProposed') {
      const proposal = proposalFromEvent(e);
      const { judged, erased } = await openProposal(proposal, options.opener);
      const recordedEvent = verdictOf.get(e.id);
      const recorded = recordedEvent === undefined ? undefined : outcomeOf(recordedEvent);
      const recordedImpact =
        recordedEvent?.type === 'ActionApproved'
          ? recordedEvent.data.impact
          : recordedEvent?.type === 'EscalationRequested'
            ? recordedEvent.data.action?.impact
            : undefined;
      const impact =
        recordedImpact ?? (judged.kind === 'action' ? await estimateImpact(judged.tool, judged.args) : null);
      const state = guardStateOf(view, proposal.actionId, impact);
      if (state === undefined) continue; // no TaskSubmitted before it: nothing to judge it on
      proposals++;
      const verdict = verdictOnSealed(decide(state, judged, policy), proposal, judged, erased);
      if (recorded === undefined || recordedEvent === undefined) {
        unjudged++;
        continue;
      }
      matrix[recorded.outcome][verdict.outcome]++;
      if (recorded.outcome !== verdict.outcome || recorded.reasonCode !== verdict.reasonCode) {
        changed.push({
          taskId: e.taskId,
          tenantId: e.tenantId,
          actionId: proposal.actionId,
          tool: proposal.kind === 'action' ? proposal.tool : null,
          recorded: { ...recorded, policyVersion: recordedEvent.policyVersion },
          candidate: { outcome: verdict.outcome, reasonCode: verdict.reasonCode, ruleFired: verdict.ruleFired },
        });
      }
    }
  }
  return { proposals, unjudged, changed, matrix };
}

/** The resolved events of one task from the projection (claim-checks fetched and verified). */
export async function taskEvents(store: AuditStore, blobs: BlobStore, taskId: string): Promise<WardenEvent[]> {
  const docs = await store.events.find({ taskId }).toArray();
  const out: WardenEvent[] = [];
  for (const doc of docs) {
    const wire = JSON.parse(doc.wire) as WireEnvelope;
    const data = isBlobRef(wire.data)
      ? (JSON.parse(Buffer.from(await fetchVerified(blobs, wire.data.$claimCheck)).toString('utf8')) as unknown)
      : wire.data;
    out.push(validateEvent({ ...wire, data }));
  }
  return out;
}

/**
 * Backtests tasks given as their events (each task's events, any order) against a candidate policy and sums the
 * results: what backtestProjection does over the projection, for events read from anywhere (the log itself).
 */
export async function backtestTasks(
  tasks: Iterable<readonly WardenEvent[]> | AsyncIterable<readonly WardenEvent[]>,
  policy: Policy,
  options: BacktestOptions = {},
): Promise<BacktestReport> {
  const report: BacktestReport = {
    policyVersion: policy.version,
    tasks: 0,
    proposals: 0,
    unjudged: 0,
    changed: [],
    matrix: {
      allow: { allow: 0, deny: 0, escalate: 0 },
      deny: { allow: 0, deny: 0, escalate: 0 },
      escalate: { allow: 0, deny: 0, escalate: 0 },
    },
  };
  let count = 0;
  let proposals = 0;
  let unjudged = 0;
  for await (const events of tasks) {
    const one = await backtestTask(events, policy, argsImpactEstimator, options);
    count++;
    proposals += one.proposals;
    unjudged += one.unjudged;
    report.changed.push(...one.changed);
    for (const r of ['allow', 'deny', 'escalate'] as const)
      for (const c of ['allow', 'deny', 'escalate'] as const) report.matrix[r][c] += one.matrix[r][c];
  }
  return { ...report, tasks: count, proposals, unjudged };
}

/** Backtests every projected task (optionally one tenant's) against a candidate policy. */
export async function backtestProjection(
  store: AuditStore,
  blobs: BlobStore,
  policy: Policy,
  options: BacktestOptions & { readonly tenantId?: string } = {},
): Promise<BacktestReport> {
  const tasks = await store.tasks
    .find(options.tenantId === undefined ? {} : { tenantId: options.tenantId }, { projection: { _id: 1 } })
    .toArray();
  async function* eventsOfEach(): AsyncGenerator<WardenEvent[]> {
    for (const { _id } of tasks) yield await taskEvents(store, blobs, _id);
  }
  return backtestTasks(eventsOfEach(), policy, options);
}
