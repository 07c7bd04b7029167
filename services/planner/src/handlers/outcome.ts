import { answerHash, type DecisionTrust, type EventOf, type WardenEvent } from '@warden/contracts';
import { partialResult, totalsOf } from '../decide/partial.js';
import type { HandlerContext } from '@warden/runtime';
import { evolve } from '../decide/state.js';
import type { TaskState } from '../decide/types.js';
import { advance, complete, haltOnMismatch, type PlannerDeps } from '../planning.js';
import { endedTask, keep, runningTask, type KeepOptions, type PlannerRecord } from '../task-state.js';

/** What the handlers share: the planner's dependencies, how task states are kept, and the open-tools view. */
export interface HandlerDeps extends PlannerDeps, Omit<KeepOptions, 'now'> {
  readonly markToolOpen: (tool: string, atMs: number) => void;
  readonly markToolClosed: (tool: string) => void;
  /** Which signatures a person's decision must carry (WARDEN_DECISION_PUBLIC_KEYS); no keys: every one is refused. */
  readonly decisionTrust: DecisionTrust;
}

/** The handlers' context: the planner's keyed state is a PlannerRecord per task (ADR 0029). */
export type PlannerContext = HandlerContext<PlannerRecord>;

/**
 * The task's running (or halted) state from the keyed state; undefined, with a log line, when the task is unknown
 * (warning) or has ended (debug: its late events change nothing).
 */
export function runningOr(ctx: PlannerContext, what: string): TaskState | undefined {
  const record = ctx.state.get();
  const state = runningTask(record);
  if (state !== undefined) return state;
  if (endedTask(record) !== undefined) ctx.logger.debug(`${what} for a task that has ended: skipped`);
  else ctx.logger.warn(`${what} for a task this planner has no state for: skipped`);
  return undefined;
}

/** Keeps the task's new state (in the handling's transaction) and leaves its view for the write-behind. */
export function keepTask(deps: HandlerDeps, ctx: Pick<PlannerContext, 'state'>, state: TaskState): void {
  keep(ctx.state, state, deps);
}

/**
 * Reads the task's state, folds the event in and, when it answered the pending proposal, moves the task on
 * (`then`: plan the next step, or complete). A task the planner does not hold is skipped with a log line; an event
 * already folded in changes nothing. A record read again after its handling's transaction aborted finds the state as
 * it was before that handling (state and outputs commit together) and is handled again (ADR 0029).
 */
export async function onTaskEvent(
  deps: HandlerDeps,
  event: WardenEvent,
  ctx: PlannerContext,
  then: 'advance' | 'complete' | 'halt',
): Promise<void> {
  const before = runningOr(ctx, 'event');
  if (before === undefined || before.applied.includes(event.id)) return;
  let state: TaskState = evolve(before, event, { tokens: deps.tokens, window: deps.window });
  if (then === 'complete') {
    const approval = event.data as { actionId?: string; argsHash?: string; expiresAt?: string };
    const pending = state.pending;
    if (pending?.kind === 'answer' && pending.actionId === approval.actionId) {
      // An approval completes the task only if it is bound to exactly this answer, and a person's is still valid.
      const bound = approval.argsHash === answerHash(pending.answer, pending.output);
      const expired = approval.expiresAt !== undefined && Date.parse(approval.expiresAt) <= deps.now().getTime();
      const publish = ctx.publish.bind(ctx);
      if (!bound && event.type === 'ActionApproved') {
        // Liveness: the guard judges each proposal once; its verdict on something other than the pending answer
        // can never be followed by the right one, so waiting would be for ever: the task halts and a person is
        // asked. (A person's decision for other content is refused and the escalation stays open until it
        // expires.)
        state = await haltOnMismatch(
          state,
          deps,
          publish,
          `the ${event.type} of ${pending.actionId} is bound to other content (argsHash ${approval.argsHash ?? 'none'}) than the pending answer`,
        );
      } else if (bound && !expired) {
        state = await complete(state, deps, publish);
      } else {
        ctx.logger.warn(
          { actionId: pending.actionId, bound, expired },
          'approval of the pending answer ignored: not bound to this answer, or expired',
        );
      }
    }
  } else if (then === 'halt') {
    if (event.type === 'EscalationExpired' && state.status === 'waiting') {
      state = await haltOnExpiry(state, event, ctx);
    }
  } else if (before.status === 'waiting' && state.status === 'planning') {
    state = await advance(state, deps, ctx);
  }
  keepTask(deps, ctx, state);
}

/**
 * Nobody decided the escalation the task waits on before its expiry: the task halts with its partial result (an
 * alert says so) instead of waiting forever. Expiry is not a denial: nothing is fed back to the model.
 */
async function haltOnExpiry(
  state: TaskState,
  event: EventOf<'EscalationExpired'>,
  ctx: HandlerContext,
): Promise<TaskState> {
  const held = state.escalations?.find((e) => e.escalationId === event.data.escalationId);
  if (held === undefined || state.pending === null || held.actionId !== state.pending.actionId) {
    ctx.logger.info({ escalationId: event.data.escalationId }, 'an escalation the task no longer waits on expired');
    return state;
  }
  const message = `nobody decided escalation ${held.escalationId} before it expired at ${event.data.expiresAt}`;
  await ctx.publish('AlertRaised', {
    alertId: `${event.id}:expired`,
    code: 'escalation_expired',
    severity: 'warning',
    message,
    subject: { taskId: state.taskId, escalationId: held.escalationId, actionId: held.actionId ?? '' },
  });
  await ctx.publish('TaskHalted', {
    reasonCode: 'escalation_expired',
    message,
    partial: partialResult(state, message),
    totals: totalsOf(state),
    escalationId: held.escalationId,
  });
  return { ...state, status: 'halted', endReason: 'escalation_expired' };
}
