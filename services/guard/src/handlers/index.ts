import {
  MAX_MESSAGE_CHARS,
  answerHash,
  canonicalHash,
  clipText,
  type EventOf,
  type MagnitudeLimits,
  type VerdictRecord,
} from '@warden/contracts';
import type { GuardMetrics, Handlers, HandlerContext } from '@warden/runtime';
import type { z } from 'zod';
import {
  capLimits,
  decide,
  guardStateOf,
  proposalFromEvent,
  validateToolOutput,
  type GuardState,
  type ImpactEstimator,
  type Policy,
  type Verdict,
} from '@warden/policy';
import { CALIBRATION_REVIEW_CODE, inReviewSample } from '@warden/calibration';
import type { GuardTaskStore } from '../task-store.js';
import type { VerdictSigner } from '../verdict-signer.js';

/** What the guard's handlers need. */
export interface GuardHandlerDeps {
  readonly store: GuardTaskStore;
  readonly policy: Policy;
  readonly estimateImpact: ImpactEstimator;
  readonly escalationTtlMs: number;
  /** The clock (tests pass a fixed one). */
  readonly now: () => Date;
  /**
   * How long a proposal waits for the events it rests on (its task's TaskSubmitted, the tool results its claims
   * cite), which travel on other topics and may be consumed a moment later. After that it is judged on what is
   * known, which can only make the verdict stricter (unknown task: deny; missing evidence: escalate).
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
}

/** The event types the guard consumes. */
export const guardConsumes = [
  'TaskSubmitted',
  'ToolSucceeded',
  'ToolFailed',
  'ActionProposed',
  'AnswerProposed',
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

function isComplete(state: GuardState | undefined, cited: ReadonlySet<string>): boolean {
  if (state === undefined) return false;
  if (cited.size === 0) return true;
  const have = new Set(state.toolResults.map((r) => r.actionId));
  return [...cited].every((id) => have.has(id));
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

async function judge(
  deps: GuardHandlerDeps,
  event: EventOf<'ActionProposed'> | EventOf<'AnswerProposed'>,
  ctx: HandlerContext,
): Promise<void> {
  const proposal = proposalFromEvent(event);
  const impact =
    proposal.kind === 'action' ? await deps.estimateImpact(proposal.tool, proposal.args, ctx.signal) : null;
  const cited = new Set(
    proposal.claims.flatMap((c) => c.evidence.filter((e) => e.kind === 'tool_result').map((e) => e.ref)),
  );
  const deadline = Date.now() + (deps.causeWaitMs ?? 3_000);
  const stateNow = async (): Promise<GuardState | undefined> =>
    guardStateOf(await deps.store.viewOf(event.taskId), proposal.actionId, impact);
  let state = await stateNow();
  while (!isComplete(state, cited) && Date.now() < deadline && !ctx.signal.aborted) {
    await new Promise((r) => setTimeout(r, 50));
    state = await stateNow();
  }
  const policy = deps.currentPolicy?.() ?? deps.policy;
  const policyVersion = policy.version;
  const sign: VerdictSigner = (type, taskId, tenantId, data) =>
    deps.sign === undefined ? data : deps.sign(type, taskId, tenantId, data);
  const { taskId, tenantId } = event;
  if (state === undefined) {
    // No TaskSubmitted seen for this task: nothing defines its scope, so nothing is allowed.
    await ctx.publish(
      'ActionRejected',
      sign('ActionRejected', taskId, tenantId, {
        proposalEventId: event.id,
        proposalKind: proposal.kind,
        actionId: proposal.actionId,
        rulesEvaluated: [{ rule: 'task', mode: 'enforce', outcome: 'deny', code: 'task_unknown' }],
        ruleFired: 'task',
        reasonCode: 'task_unknown',
        policyVersion,
        inputHashes: { proposal: canonicalHash(proposal), state: canonicalHash(null), policy: policy.hash },
        tool: proposal.kind === 'action' ? proposal.tool : null,
        argsHash: proposal.kind === 'action' ? proposal.argsHash : answerHash(proposal.answer, proposal.output),
        message: `no TaskSubmitted is known for task ${event.taskId}: its scope is undefined`,
      }),
      { policyVersion },
    );
    return;
  }
  // Budgets before the verdict: an action approved now is dispatched later, so a task whose wall time has run out or
  // whose steps are spent gets no new effect; its planner halts it with the partial result it has.
  const deadlineMs = deps.store.deadlineOf(event.taskId);
  const deadlineAt = deadlineMs === undefined ? undefined : new Date(deadlineMs).toISOString();
  if (proposal.kind === 'action') {
    const spent = spentBudget(state, event.data.step, deadlineMs, deps.now().getTime());
    if (spent !== undefined) {
      await ctx.publish(
        'ActionRejected',
        sign('ActionRejected', taskId, tenantId, {
          proposalEventId: event.id,
          proposalKind: proposal.kind,
          actionId: proposal.actionId,
          rulesEvaluated: [{ rule: 'budget', mode: 'enforce', outcome: 'deny', code: spent.code }],
          ruleFired: 'budget',
          reasonCode: spent.code,
          policyVersion,
          inputHashes: { proposal: canonicalHash(proposal), state: canonicalHash(state), policy: policy.hash },
          tool: proposal.tool,
          argsHash: proposal.argsHash,
          message: spent.message,
        }),
        { policyVersion },
      );
      return;
    }
  }
  const verdict = withReviewSample(
    decide(state, proposal, policy),
    `${event.taskId}:${proposal.actionId}`,
    proposal.kind,
    deps.reviewSample,
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
      { policyVersion },
    );
  }
  const base = record(event, verdict);
  const tool = proposal.kind === 'action' ? proposal.tool : null;
  switch (verdict.outcome) {
    case 'allow':
      if (proposal.kind === 'action' && verdict.impact !== undefined) {
        await deps.store.recordApproval(event.taskId, proposal.actionId, verdict.impact);
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
        { policyVersion },
      );
      return;
    case 'deny':
      await ctx.publish(
        'ActionRejected',
        sign('ActionRejected', taskId, tenantId, {
          ...base,
          tool,
          argsHash: verdict.argsHash,
          message: verdict.message,
        }),
        { policyVersion },
      );
      return;
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
        { policyVersion },
      );
      return;
    default: {
      const never: never = verdict.outcome;
      throw new Error(`unknown verdict outcome ${String(never)}`);
    }
  }
}

/** The guard's handlers: it records what defines a task's bounds and judges every proposal. */
export function createHandlers(deps: GuardHandlerDeps): Handlers<Consumed> {
  return {
    TaskSubmitted: async (event, ctx) => {
      const cap = deps.tenantCaps?.(event.tenantId);
      if (cap === undefined) {
        await deps.store.recordTask(event.taskId, event.tenantId, event.data, event.id, event.occurredAt);
        return;
      }
      // A task may lower its tenant's limits, never lift them: what it asked above a cap is cut to the cap.
      const { limits, lowered } = capLimits(event.data.limits, cap);
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
      await deps.store.recordTask(event.taskId, event.tenantId, { ...event.data, limits }, event.id, event.occurredAt);
    },
    ToolSucceeded: async (event, ctx) => {
      deps.metrics?.outcome(event.taskId, event.data.actionId, 'succeeded');
      const checked = validateToolOutput(event.data.tool, event.data.result, deps.currentPolicy?.() ?? deps.policy);
      if (!checked.ok) {
        // An invalid result never becomes evidence for grounding.
        ctx.logger.warn(
          { tool: event.data.tool, problem: checked },
          'tool result failed output validation: not recorded',
        );
        return;
      }
      await deps.store.recordResult(event.taskId, {
        actionId: event.data.actionId,
        tool: event.data.tool,
        result: event.data.result,
      });
    },
    // Only the confidence metric's outcome: a failed call is no evidence.
    ToolFailed: (event) => {
      deps.metrics?.outcome(event.taskId, event.data.actionId, 'failed');
      return Promise.resolve();
    },
    ActionProposed: (event, ctx) => judge(deps, event, ctx),
    AnswerProposed: (event, ctx) => judge(deps, event, ctx),
  };
}
