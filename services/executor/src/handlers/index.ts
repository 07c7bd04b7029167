import {
  authenticateHaltDecision,
  heldEscalationOf,
  isWardenError,
  MAX_MESSAGE_CHARS,
  clipText,
  type ChainLink,
  type EventOf,
} from '@warden/contracts';
import type { HandlerContext, Handlers, WakeContext } from '@warden/runtime';
import { approvalOf } from '../approval.js';
import { checkVerdictSignature } from '../task-check.js';
import {
  heldTaskOf,
  isDefined,
  isExpired,
  nextWake,
  stateOf,
  withEnd,
  withEscalation,
  withResume,
  withEffects,
  withTask,
  type DoneEffect,
  type ExecutorTaskState,
  type PendingApproval,
} from '../task-state.js';
import { executeApproval, type ExecuteContext, type ExecutorHandlerDeps, type KnownTask } from './execute.js';

/**
 * The event types the executor consumes, the tasks' definitions first. The order is the subscription's, which kafkajs
 * keeps in each fetch: the batches of the tasks topic are queued for the handlers before the verdicts'.
 */
export const executorConsumes = [
  'TaskSubmitted',
  'ActionApproved',
  'HumanApproved',
  'EscalationRequested',
  'TaskCompleted',
  'TaskFailed',
  'TaskHalted',
  'TaskResumed',
] as const;
type Consumed = (typeof executorConsumes)[number];

type Approved = EventOf<'ActionApproved'> | EventOf<'HumanApproved'>;

/** What the executor knows of a task from its state. */
const knownOf = (taskId: string, state: ExecutorTaskState | undefined): KnownTask => ({
  task: heldTaskOf(taskId, state),
  escalations: state?.escalations ?? [],
  ...(state?.effects === undefined ? {} : { effects: state.effects }),
});

/** A context that collects the effects whose outcomes a handling publishes (for the task's state). */
function collecting<C extends ExecuteContext>(ctx: C): { ctx: C; done: DoneEffect[] } {
  const done: DoneEffect[] = [];
  return { ctx: { ...ctx, recorded: (effect: DoneEffect) => void done.push(effect) }, done };
}

/** Keeps a task's state and its wake-up (the earliest deadline of its waiting approvals). */
function keep(ctx: Pick<WakeContext<ExecutorTaskState>, 'state'>, state: ExecutorTaskState): void {
  ctx.state.set(state);
  ctx.state.wakeAt(nextWake(state));
}

/** A context whose publishes chain to `cause` (an approval run later than it was consumed). */
function chainedTo(ctx: ExecuteContext, cause: ChainLink): ExecuteContext {
  return {
    logger: ctx.logger,
    signal: ctx.signal,
    span: ctx.span,
    publish: (type, data, options) => ctx.publish(type, data, { ...options, cause }),
    ...(ctx.recorded === undefined ? {} : { recorded: ctx.recorded }),
  };
}

/**
 * An approval: run against its task's state at once if the task is known (defined or ended), else, unless it is a
 * forged verdict, kept in the task's state until the TaskSubmitted comes (run by its handler, ADR 0028) or until its
 * deadline (refused as task_unknown by the wake-up). No handler waits, so no handler slot is held by a wait.
 */
async function onApproval(
  deps: ExecutorHandlerDeps,
  event: Approved,
  ctx: HandlerContext<ExecutorTaskState>,
): Promise<void> {
  const approval = approvalOf(event);
  const state = ctx.state.get();
  const unknown = !isDefined(state) && state?.ended !== true;
  // A forged verdict never waits: refused at once, alert only (executeApproval). A person's approval waits whatever
  // its signature, as its refusal (a ToolFailed) goes to the task, which must be known first.
  const forged = !checkVerdictSignature(approval, deps.verdictTrust).ok;
  if (approval.tool !== null && unknown && deps.taskWaitMs > 0 && !forged) {
    const current = stateOf(ctx.state);
    if (current.pending.some((p) => p.event.id === event.id)) return; // already waiting (a redelivery)
    ctx.logger.debug({ actionId: approval.actionId }, 'approval waits for its task');
    keep(ctx, {
      ...current,
      pending: [...current.pending, { event, hash: ctx.hash, deadlineMs: Date.now() + deps.taskWaitMs }],
    });
    return;
  }
  const run = collecting(ctx);
  await executeApproval(deps, approval, run.ctx, knownOf(event.taskId, state));
  if (state !== undefined && run.done.length > 0) keep(ctx, withEffects(stateOf(ctx.state), run.done));
}

/**
 * Runs the waiting approvals that are due: all of them once the task is known, else those past their deadline
 * (`dueAtMs`, from the wake-up), which are refused as task_unknown. Each one's outputs chain to it.
 */
async function runWaiting(
  deps: ExecutorHandlerDeps,
  ctx: ExecuteContext,
  state: ExecutorTaskState,
  taskId: string,
  dueAtMs?: number,
): Promise<ExecutorTaskState> {
  const known = isDefined(state) || state.ended;
  const waiting: PendingApproval[] = [];
  const run = collecting(ctx);
  for (const pending of state.pending) {
    if (!known && (dueAtMs === undefined || pending.deadlineMs > dueAtMs)) {
      waiting.push(pending);
      continue;
    }
    const cause = { envelope: pending.event, hash: pending.hash };
    try {
      await executeApproval(deps, approvalOf(pending.event), chainedTo(run.ctx, cause), knownOf(taskId, state));
    } catch (error) {
      // What may pass later (an outage) fails the handling, which is tried again whole (the ledger makes a second
      // run of an effect republish its outcome). An approval that can never run must not take the event that
      // released it to the DLQ: it alone is dropped, with a critical alert chained to it.
      if (!isWardenError(error) || error.retryable) throw error;
      ctx.logger.error({ err: error, approvalEventId: pending.event.id }, 'a waiting approval could not be run');
      await chainedTo(ctx, cause).publish('AlertRaised', {
        alertId: `${pending.event.id}:unrun`,
        code: 'policy_warn',
        severity: 'critical',
        message: clipText(`a waiting ${pending.event.type} could not be run: ${error.message}`, MAX_MESSAGE_CHARS),
        subject: { taskId, actionId: pending.event.data.actionId, approval: pending.event.id },
      });
    }
  }
  return withEffects({ ...state, pending: waiting }, run.done);
}

/**
 * The executor's handlers: both kinds of approval go through the same checks, ledger and breakers. Each task's
 * definition, end, escalations and waiting approvals are in its state (ctx.state, ADR 0028), so that an approval runs
 * only for a running task within its scope, and a person's only if it answers exactly one of the task's escalations.
 */
export function createHandlers(deps: ExecutorHandlerDeps): Handlers<Consumed, ExecutorTaskState> {
  const retentionMs = deps.endedTaskRetentionMs ?? 0;
  const ended =
    (final: boolean) =>
    async (
      event: EventOf<'TaskCompleted' | 'TaskFailed' | 'TaskHalted'>,
      ctx: HandlerContext<ExecutorTaskState>,
    ): Promise<void> => {
      // A completed or failed task's record is kept for the retention from now (processing time), then deleted.
      const expiry = final ? { expiresAtMs: retentionMs > 0 ? Date.now() + retentionMs : undefined } : undefined;
      const state = withEnd(stateOf(ctx.state), event.tenantId, event.seq, expiry);
      // What still waited for the TaskSubmitted is refused now: the task is over.
      keep(ctx, await runWaiting(deps, ctx, state, event.taskId));
    };
  return {
    ActionApproved: (event, ctx) => onApproval(deps, event, ctx),
    HumanApproved: (event, ctx) => onApproval(deps, event, ctx),
    EscalationRequested: (event, ctx) => {
      keep(ctx, withEscalation(stateOf(ctx.state), heldEscalationOf(event.taskId, event.data)));
      return Promise.resolve();
    },
    TaskSubmitted: async (event, ctx) => {
      // A task's definition never changes: another TaskSubmitted for its id is refused (TaskConflictError: DLQ).
      const state = withTask(stateOf(ctx.state), event);
      keep(ctx, await runWaiting(deps, ctx, state, event.taskId));
    },
    TaskCompleted: ended(true),
    TaskFailed: ended(true),
    TaskHalted: ended(false),
    // An admin's resume of a halted task (ADR 0023) reopens it, only when signed by a trusted key (the planner, which
    // acts on it, raises the alert for a forged one); nothing else here depends on it.
    TaskResumed: (event, ctx) => {
      const auth = authenticateHaltDecision(event.type, event.taskId, event.tenantId, event.data, deps.decisionTrust);
      if (!auth.ok) {
        ctx.logger.warn(
          { taskId: event.taskId, reason: auth.reason },
          'TaskResumed not authenticated: task stays ended',
        );
        return Promise.resolve();
      }
      keep(ctx, withResume(stateOf(ctx.state), event.tenantId, event.seq));
      return Promise.resolve();
    },
  };
}

/**
 * The executor's wake-up: the approvals of a task whose TaskSubmitted never came in time are refused (task_unknown),
 * and the record of a task ended longer ago than the retention is deleted (a tombstone in the changelog).
 */
export function createWake(
  deps: ExecutorHandlerDeps,
): (taskId: string, ctx: WakeContext<ExecutorTaskState>) => Promise<void> {
  return async (taskId, ctx) => {
    const state = ctx.state.get();
    if (state === undefined) return;
    const nowMs = Date.now();
    const after = await runWaiting(deps, ctx, state, taskId, nowMs);
    if (isExpired(after, nowMs)) ctx.state.delete();
    else keep(ctx, after);
  };
}
