import {
  MAX_MESSAGE_CHARS,
  isWardenError,
  type ChainLink,
  type WardenError,
  answerHash,
  canonicalHash,
  clipText,
  type EventOf,
  type JsonValue,
  type OnOpened,
  type MagnitudeLimits,
  type VerdictRecord,
} from '@warden/contracts';
import type { GuardMetrics, HandlerContext, Handlers, WakeContext } from '@warden/runtime';
import type { z } from 'zod';
import {
  capLimits,
  decide,
  guardStateOf,
  openProposal,
  proposalFromEvent,
  sealVerdictTexts,
  validateToolOutput,
  verdictOnSealed,
  type GuardState,
  type SealedOpener,
  type ImpactEstimator,
  type Policy,
  type Verdict,
} from '@warden/policy';
import { CALIBRATION_REVIEW_CODE, inReviewSample } from '@warden/calibration';
import {
  deadlineOf,
  nextWake,
  stateOf,
  viewOf,
  withTask,
  type GuardTaskState,
  type PendingProposal,
} from '../task-state.js';
import type { VerdictSigner } from '../verdict-signer.js';

/** What the guard's handlers need. Each task's records are in its state (ctx.state, ADR 0027). */
export interface GuardHandlerDeps {
  readonly policy: Policy;
  readonly estimateImpact: ImpactEstimator;
  readonly escalationTtlMs: number;
  /** The clock (tests pass a fixed one). */
  readonly now: () => Date;
  /**
   * How long a proposal waits, in its task's state, for the events it rests on (its task's TaskSubmitted, the tool
   * results its claims cite), which travel on other topics and may be consumed later: it is judged as soon as they
   * arrive (an event-time join), or at this deadline on what is known, which can only make the verdict stricter
   * (unknown task: deny; missing evidence: escalate). Default DEFAULT_CAUSE_WAIT_MS; 0 judges at once.
   */
  readonly causeWaitMs?: number;
  /** The tenant's caps on magnitude limits (GUARD_TENANT_CAPS); undefined: the task's own limits hold. */
  readonly tenantCaps?: (tenantId: string) => MagnitudeLimits | undefined;
  /**
   * The policy in force now: the file's with the published calibration applied (ADR 0025), read from memory.
   * Undefined: `policy` always.
   */
  readonly currentPolicy?: () => Policy;
  /**
   * The review sample (ADR 0025): this share of the actions the guard would auto-approve, picked by a hash of
   * (salt, task, action), goes to a person instead, so calibration keeps being tested where the agent is confident.
   */
  readonly reviewSample?: { readonly rate: number; readonly salt: string };
  /** Signs each verdict with the guard's key (GUARD_SIGNING_KEY); absent: verdicts go unsigned (executors refuse). */
  readonly sign?: VerdictSigner;
  /** Verdicts and confidence against outcomes on the worker's /metrics; none in unit tests. */
  readonly metrics?: GuardMetrics;
  /**
   * Opens sealed personal data (ADR 0026) in memory, for checking a result's shape and for grounding: the task's
   * state (and its changelog) keeps results sealed as they were published; an erased value reads `[erased]`. None:
   * values are judged as they are (a sealed value then grounds nothing: fail closed).
   */
  readonly openSealed?: (value: JsonValue, onOpened?: OnOpened) => Promise<JsonValue>;
  /**
   * Whether a value holds a sealed value whose subject was erased (ADR 0026): a proposal holding one is judged
   * opened (as `[erased]`) and escalated, never allowed. None: no proposal is opened (its sealed values ground
   * nothing).
   */
  readonly holdsErased?: (value: JsonValue) => Promise<boolean>;
  /** Seals again, in a verdict's texts, what quotes a value opened from the proposal (ADR 0026); none: as they are. */
  readonly resealText?: SealedOpener['reseal'];
}

/** The opener of sealed proposals (ADR 0026), when the guard has keys. */
const proposalOpener = (deps: GuardHandlerDeps): SealedOpener | undefined =>
  deps.openSealed === undefined || deps.holdsErased === undefined
    ? undefined
    : {
        open: deps.openSealed,
        erased: deps.holdsErased,
        ...(deps.resealText === undefined ? {} : { reseal: deps.resealText }),
      };

/** The task's state with its results opened (in memory only) for judging; the state kept stays sealed. */
async function openedResults(deps: GuardHandlerDeps, state: GuardTaskState): Promise<GuardTaskState> {
  const open = deps.openSealed;
  if (open === undefined || state.results.length === 0) return state;
  const results = await Promise.all(
    state.results.map(async (r) => ({ ...r, result: await open(r.result as JsonValue) })),
  );
  return { ...state, results };
}

/** How long a proposal waits for its causes by default. */
export const DEFAULT_CAUSE_WAIT_MS = 3_000;

/**
 * The event types the guard consumes (a task's end evicts its state). A TaskHalted is no end: an admin may resume the
 * task (TaskResumed), and its next proposals are judged on the same state; a cancelled one ends in TaskFailed.
 */
export const guardConsumes = [
  'TaskSubmitted',
  'ToolSucceeded',
  'ToolFailed',
  'ActionProposed',
  'AnswerProposed',
  'TaskCompleted',
  'TaskFailed',
] as const;
type Consumed = (typeof guardConsumes)[number];

function record(
  event: EventOf<'ActionProposed'> | EventOf<'AnswerProposed'>,
  verdict: Verdict,
): z.input<typeof VerdictRecord> {
  return {
    proposalEventId: event.id,
    proposalKind: event.type === 'ActionProposed' ? 'action' : 'answer',
    actionId: event.data.actionId,
    rulesEvaluated: verdict.rulesEvaluated,
    ruleFired: verdict.ruleFired,
    reasonCode: verdict.reasonCode,
    policyVersion: verdict.policyVersion,
    inputHashes: verdict.inputHashes,
    ...(verdict.confidence === undefined ? {} : { confidence: verdict.confidence }),
  };
}

/**
 * The verdict with the review sample applied: an action the guard would allow is, when its key is in the sample,
 * escalated with reason calibration_review instead, and says so in rulesEvaluated (pure: the same inputs give the
 * same verdict, in a replay too).
 */
export function withReviewSample(
  verdict: Verdict,
  key: string,
  kind: 'action' | 'answer',
  sample: { readonly rate: number; readonly salt: string } | undefined,
): Verdict {
  if (sample === undefined || kind !== 'action' || verdict.outcome !== 'allow') return verdict;
  if (!inReviewSample(key, sample.rate, sample.salt)) return verdict;
  const detail = `auto-approvable action sampled for a person's review (rate ${sample.rate}): the decision labels its confidence`;
  return {
    ...verdict,
    outcome: 'escalate',
    reasonCode: CALIBRATION_REVIEW_CODE,
    ruleFired: CALIBRATION_REVIEW_CODE,
    message: `${CALIBRATION_REVIEW_CODE}: ${detail}`,
    rulesEvaluated: [
      ...verdict.rulesEvaluated,
      { rule: CALIBRATION_REVIEW_CODE, mode: 'enforce', outcome: 'escalate', code: CALIBRATION_REVIEW_CODE, detail },
    ],
  };
}

type Proposal = EventOf<'ActionProposed'> | EventOf<'AnswerProposed'>;

/** The tool results a proposal's claims cite. */
function citedBy(event: Proposal): Set<string> {
  return new Set(
    event.data.claims.flatMap((c) => c.evidence.filter((e) => e.kind === 'tool_result').map((e) => e.ref)),
  );
}

/** Whether every cause of a proposal has arrived: its task's TaskSubmitted and every tool result it cites. */
function causesArrived(state: GuardTaskState, event: Proposal): boolean {
  if (state.task === undefined) return false;
  const have = new Set(state.results.map((r) => r.actionId));
  return [...citedBy(event)].every((id) => have.has(id));
}

/** Why a proposed action is refused on its task's budgets: wall time run out, or steps spent. */
function spentBudget(
  state: GuardState,
  step: number,
  deadlineMs: number | undefined,
  nowMs: number,
): { readonly code: 'wall_time_exhausted' | 'steps_exhausted'; readonly message: string } | undefined {
  const { maxWallTimeMs, maxSteps } = state.task.budgets;
  if (deadlineMs !== undefined && nowMs > deadlineMs) {
    return {
      code: 'wall_time_exhausted',
      message: `the task's wall-time budget of ${maxWallTimeMs} ms ran out at ${new Date(deadlineMs).toISOString()}: no new effect`,
    };
  }
  if (step > maxSteps) {
    return { code: 'steps_exhausted', message: `step ${step} is past the task's budget of ${maxSteps} steps` };
  }
  return undefined;
}

/** What judging needs of a handler's (or a wake-up's) context. */
type JudgeContext = Pick<WakeContext<GuardTaskState>, 'publish' | 'signal' | 'span' | 'logger'>;

/**
 * Judges a proposal on its task's state as it stands and publishes the verdict (chained to the proposal: `cause`
 * when it is judged later than it was consumed). Returns the state with the approval's impact recorded.
 */
async function judge(
  deps: GuardHandlerDeps,
  event: Proposal,
  ctx: JudgeContext,
  taskState: GuardTaskState,
  cause?: ChainLink,
): Promise<GuardTaskState> {
  const proposal = proposalFromEvent(event);
  // Judged opened (in memory only), bound as the event holds it: sealed (ADR 0026).
  const opener = proposalOpener(deps);
  const { judged, erased, opened: openedValues } = await openProposal(proposal, opener);
  const impact = judged.kind === 'action' ? await deps.estimateImpact(judged.tool, judged.args, ctx.signal) : null;
  const opened = await openedResults(deps, taskState);
  const state: GuardState | undefined = guardStateOf(viewOf(event.taskId, opened), proposal.actionId, impact);
  const publishOptions = (policyVersion: string) => ({ policyVersion, ...(cause === undefined ? {} : { cause }) });
  const policy = deps.currentPolicy?.() ?? deps.policy;
  const policyVersion = policy.version;
  const sign: VerdictSigner = (type, taskId, tenantId, data) =>
    deps.sign === undefined ? data : deps.sign(type, taskId, tenantId, data);
  const { taskId, tenantId } = event;
  /** A rejection before decide(): by `rule` (task or budget), on what is known of the task (`stateHash`). */
  const rejectEarly = async (rule: 'task' | 'budget', code: string, message: string, stateHash: string) => {
    await ctx.publish(
      'ActionRejected',
      sign('ActionRejected', taskId, tenantId, {
        proposalEventId: event.id,
        proposalKind: proposal.kind,
        actionId: proposal.actionId,
        rulesEvaluated: [{ rule, mode: 'enforce', outcome: 'deny', code }],
        ruleFired: rule,
        reasonCode: code,
        policyVersion,
        inputHashes: { proposal: canonicalHash(proposal), state: stateHash, policy: policy.hash },
        tool: proposal.kind === 'action' ? proposal.tool : null,
        argsHash: proposal.kind === 'action' ? proposal.argsHash : answerHash(proposal.answer, proposal.output),
        message,
      }),
      publishOptions(policyVersion),
    );
  };
  if (state === undefined) {
    // No TaskSubmitted seen for this task: nothing defines its scope, so nothing is allowed.
    const why = `no TaskSubmitted is known for task ${event.taskId}: its scope is undefined`;
    await rejectEarly('task', 'task_unknown', why, canonicalHash(null));
    return taskState;
  }
  // Budgets before the verdict: an action approved now is dispatched later, so a task whose wall time has run out or
  // whose steps are spent gets no new effect; its planner halts it with the partial result it has.
  const deadlineMs = deadlineOf(taskState);
  const deadlineAt = deadlineMs === undefined ? undefined : new Date(deadlineMs).toISOString();
  if (proposal.kind === 'action') {
    const spent = spentBudget(state, event.data.step, deadlineMs, deps.now().getTime());
    if (spent !== undefined) {
      await rejectEarly('budget', spent.code, spent.message, canonicalHash(state));
      return taskState;
    }
  }
  const verdict = await sealVerdictTexts(
    withReviewSample(
      verdictOnSealed(decide(state, judged, policy), proposal, judged, erased),
      `${event.taskId}:${proposal.actionId}`,
      proposal.kind,
      deps.reviewSample,
    ),
    opener,
    openedValues,
    event.tenantId,
  );
  ctx.span.setAttribute('warden.guard.outcome', verdict.outcome);
  ctx.span.setAttribute('warden.guard.reason', verdict.reasonCode);
  deps.metrics?.verdict({
    taskId: event.taskId,
    actionId: proposal.actionId,
    verdict: verdict.outcome,
    rule: verdict.ruleFired ?? 'none',
    reasonCode: verdict.reasonCode,
    confidence: event.data.confidence.value,
  });
  for (const w of verdict.warnings) {
    await ctx.publish(
      'AlertRaised',
      {
        alertId: `${event.taskId}:${proposal.actionId}:warn:${w.rule}`,
        code: 'policy_warn',
        severity: 'warning',
        message: `rule ${w.rule} would ${w.wouldBe}: ${w.detail}`,
        subject: { taskId: event.taskId, actionId: proposal.actionId, rule: w.rule, code: w.code },
      },
      publishOptions(policyVersion),
    );
  }
  const base = record(event, verdict);
  const tool = proposal.kind === 'action' ? proposal.tool : null;
  switch (verdict.outcome) {
    case 'allow':
      if (proposal.kind === 'action' && verdict.impact !== undefined) {
        const { actionId } = proposal;
        const known = taskState.approved.some((a) => a.actionId === actionId);
        if (!known)
          taskState = { ...taskState, approved: [...taskState.approved, { actionId, impact: verdict.impact }] };
      }
      await ctx.publish(
        'ActionApproved',
        sign('ActionApproved', taskId, tenantId, {
          ...base,
          tool,
          args: proposal.kind === 'action' ? proposal.args : null,
          argsHash: verdict.argsHash,
          ...(verdict.impact === undefined ? {} : { impact: verdict.impact }),
          ...(proposal.kind === 'action' && deadlineAt !== undefined ? { deadlineAt } : {}),
        }),
        publishOptions(policyVersion),
      );
      return taskState;
    case 'deny':
      await ctx.publish(
        'ActionRejected',
        sign('ActionRejected', taskId, tenantId, {
          ...base,
          tool,
          argsHash: verdict.argsHash,
          message: verdict.message,
        }),
        publishOptions(policyVersion),
      );
      return taskState;
    case 'escalate':
      await ctx.publish(
        'EscalationRequested',
        sign('EscalationRequested', taskId, tenantId, {
          escalationId: `${event.taskId}:${proposal.actionId}:guard`,
          source: 'guard',
          reasonCode: verdict.reasonCode,
          reason: verdict.message,
          action:
            proposal.kind === 'action'
              ? {
                  actionId: proposal.actionId,
                  tool: proposal.tool,
                  args: proposal.args,
                  argsHash: verdict.argsHash,
                  ...(verdict.impact === undefined ? {} : { impact: verdict.impact }),
                  ...(deadlineAt === undefined ? {} : { deadlineAt }),
                }
              : null,
          ...(proposal.kind === 'answer'
            ? {
                answer: {
                  actionId: proposal.actionId,
                  answer: proposal.answer,
                  ...(proposal.output === undefined ? {} : { output: proposal.output }),
                  argsHash: verdict.argsHash,
                },
              }
            : {}),
          proposal: { reasoning: event.data.reasoning, confidence: event.data.confidence, claims: event.data.claims },
          verdict: base,
          policyVersion,
          expiresAt: new Date(deps.now().getTime() + deps.escalationTtlMs).toISOString(),
        }),
        publishOptions(policyVersion),
      );
      return taskState;
    default: {
      const never: never = verdict.outcome;
      throw new Error(`unknown verdict outcome ${String(never)}`);
    }
  }
}

/**
 * Judges the waiting proposals of a task whose causes have now arrived, and, with `dueAtMs`, those whose deadline
 * has passed (on what is known); the rest keep waiting. Returns the state without the judged ones.
 */
async function judgeWaiting(
  deps: GuardHandlerDeps,
  ctx: JudgeContext,
  taskState: GuardTaskState,
  dueAtMs?: number,
): Promise<GuardTaskState> {
  let state = taskState;
  const waiting: PendingProposal[] = [];
  for (const pending of taskState.pending) {
    const ready = causesArrived(state, pending.event) || (dueAtMs !== undefined && pending.deadlineMs <= dueAtMs);
    if (!ready) {
      waiting.push(pending);
      continue;
    }
    const cause = { envelope: pending.event, hash: pending.hash };
    try {
      state = await judge(deps, pending.event, ctx, state, cause);
    } catch (error) {
      // What may pass later (an outage) fails the handling, which is tried again whole. A proposal that can never be
      // judged must not take the event that released it (its TaskSubmitted) to the DLQ: it alone is dropped, with a
      // critical alert chained to it, as its own dead letter would have been.
      if (!isWardenError(error) || error.retryable) throw error;
      await unjudged(deps, ctx, pending, error, cause);
    }
  }
  return { ...state, pending: waiting };
}

/** The critical alert of a waiting proposal that could not be judged (a terminal error): it gets no verdict. */
async function unjudged(
  deps: GuardHandlerDeps,
  ctx: Pick<WakeContext<GuardTaskState>, 'publish' | 'logger'>,
  pending: PendingProposal,
  error: WardenError,
  cause: ChainLink,
): Promise<void> {
  const { taskId, data } = pending.event;
  ctx.logger.error({ err: error, proposalEventId: pending.event.id }, 'a waiting proposal could not be judged');
  await ctx.publish(
    'AlertRaised',
    {
      alertId: `${taskId}:${data.actionId}:guard:unjudged`,
      code: 'dead_lettered',
      severity: 'critical',
      message: clipText(
        `the guard could not judge proposal ${pending.event.id} (${error.code}): ${error.message}; it gets no verdict`,
        MAX_MESSAGE_CHARS,
      ),
      subject: { taskId, actionId: data.actionId, proposalEventId: pending.event.id, errorCode: error.code },
    },
    { policyVersion: deps.policy.version, cause },
  );
}

/** Keeps a task's state and its wake-up (the earliest deadline of its waiting proposals). */
function keep(ctx: Pick<WakeContext<GuardTaskState>, 'state'>, state: GuardTaskState): void {
  ctx.state.set(state);
  ctx.state.wakeAt(nextWake(state));
}

/**
 * A proposal: judged at once if its causes have arrived (or it may not wait), else kept in its task's state until
 * they do (judged by the handler of the event that completes them) or until its deadline (judged by the wake-up).
 */
async function onProposal(
  deps: GuardHandlerDeps,
  event: Proposal,
  ctx: WakeContext<GuardTaskState> & { readonly hash: string },
): Promise<void> {
  const state = stateOf(ctx.state);
  const waitMs = deps.causeWaitMs ?? DEFAULT_CAUSE_WAIT_MS;
  if (causesArrived(state, event) || waitMs <= 0) {
    keep(ctx, await judge(deps, event, ctx, state));
    return;
  }
  if (state.pending.some((p) => p.event.id === event.id)) return; // already waiting (a redelivery)
  const pending = { event, hash: ctx.hash, deadlineMs: Date.now() + waitMs };
  ctx.logger.debug({ actionId: event.data.actionId }, 'proposal waits for its causes');
  keep(ctx, { ...state, pending: [...state.pending, pending] });
}

/** The guard's handlers: it keeps what defines a task's bounds in the task's state and judges every proposal. */
export function createHandlers(deps: GuardHandlerDeps): Handlers<Consumed, GuardTaskState> {
  /** A task's end: its state is evicted (a tombstone in the changelog); what still waited is moot. */
  const evict = (_event: unknown, ctx: HandlerContext<GuardTaskState>): Promise<void> => {
    if (ctx.state.get() !== undefined) ctx.state.delete();
    return Promise.resolve();
  };
  return {
    TaskSubmitted: async (event, ctx) => {
      const cap = deps.tenantCaps?.(event.tenantId);
      let data = event.data;
      if (cap !== undefined) {
        // A task may lower its tenant's limits, never lift them: what it asked above a cap is cut to the cap.
        const { limits, lowered } = capLimits(event.data.limits, cap);
        data = { ...event.data, limits };
        if (lowered.length > 0) {
          const list = lowered.map((l) => `${l.limit} ${l.requested} -> ${l.cap}`).join(', ');
          ctx.logger.warn({ lowered }, 'task limits above the tenant caps: lowered to the caps');
          await ctx.publish(
            'AlertRaised',
            {
              alertId: `${event.taskId}:guard:tenant-caps`,
              code: 'policy_warn',
              severity: 'warning',
              message: clipText(
                `task ${event.taskId} asked for limits above its tenant's caps; lowered: ${list}`,
                MAX_MESSAGE_CHARS,
              ),
              subject: { taskId: event.taskId, tenantId: event.tenantId, rule: 'tenant_caps' },
            },
            { policyVersion: deps.policy.version },
          );
        }
      }
      const state = withTask(stateOf(ctx.state), event, data);
      keep(ctx, await judgeWaiting(deps, ctx, state));
    },
    ToolSucceeded: async (event, ctx) => {
      deps.metrics?.outcome(event.taskId, event.data.actionId, 'succeeded');
      const clear = deps.openSealed === undefined ? event.data.result : await deps.openSealed(event.data.result);
      const checked = validateToolOutput(event.data.tool, clear, deps.currentPolicy?.() ?? deps.policy);
      if (!checked.ok) {
        // An invalid result never becomes evidence for grounding.
        ctx.logger.warn(
          { tool: event.data.tool, problem: checked },
          'tool result failed output validation: not recorded',
        );
        return;
      }
      const state = stateOf(ctx.state);
      const record = { actionId: event.data.actionId, tool: event.data.tool, result: event.data.result };
      const known = state.results.some((r) => r.actionId === record.actionId && r.tool === record.tool);
      const recorded = known ? state : { ...state, results: [...state.results, record] };
      keep(ctx, await judgeWaiting(deps, ctx, recorded));
    },
    // Only the confidence metric's outcome: a failed call is no evidence.
    ToolFailed: (event) => {
      deps.metrics?.outcome(event.taskId, event.data.actionId, 'failed');
      return Promise.resolve();
    },
    ActionProposed: (event, ctx) => onProposal(deps, event, ctx),
    AnswerProposed: (event, ctx) => onProposal(deps, event, ctx),
    TaskCompleted: evict,
    TaskFailed: evict,
  };
}

/** The guard's wake-up: the waiting proposals of a task whose deadline has passed are judged on what is known. */
export function createWake(
  deps: GuardHandlerDeps,
): (taskId: string, ctx: WakeContext<GuardTaskState>) => Promise<void> {
  return async (_taskId, ctx) => {
    const state = ctx.state.get();
    if (state === undefined) return;
    keep(ctx, await judgeWaiting(deps, ctx, state, Date.now()));
  };
}
