import { answerHash, type DecisionTrust, type EventOf, type WardenEvent } from '@warden/contracts';
import { partialResult, totalsOf } from '../decide/partial.js';
import type { HandlerContext } from '@warden/runtime';
import { evolve } from '../decide/state.js';
import type { TaskState } from '../decide/types.js';
import { advance, complete, haltOnMismatch, type PlannerDeps } from '../planning.js';
import type { TaskStore } from '../task-store.js';
import { handlingOf, recording, replayIfRedelivered } from './replay.js';

/** What the handlers share: the planner's dependencies, its task store and the open-tools view. */
export interface HandlerDeps extends PlannerDeps {
  readonly store: TaskStore;
  readonly markToolOpen: (tool: string, atMs: number) => void;
  readonly markToolClosed: (tool: string) => void;
  /** Which signatures a person's decision must carry (WARDEN_DECISION_PUBLIC_KEYS); no keys: every one is refused. */
  readonly decisionTrust: DecisionTrust;
}

/**
 * Loads the task's state, folds the event in and, when it answered the pending proposal, moves the task on
 * (`then`: plan the next step, or complete). A task the planner never saw is skipped with a warning; an event
 * already folded in changes nothing, except that the same record read again after a crash publishes the outputs
 * its first handling recorded (that handling's transaction was aborted; its state was saved).
 */
export async function onTaskEvent(
  deps: HandlerDeps,
  event: WardenEvent,
  ctx: HandlerContext,
  then: 'advance' | 'complete' | 'halt',
): Promise<void> {
  const loaded = await deps.store.load(event.taskId);
  if (loaded === null) {
    ctx.logger.warn('event for a task this planner has no state for: skipped');
    return;
  }
  if (loaded.state.applied.includes(event.id)) {
    await replayIfRedelivered(loaded.handled, event, ctx);
    return;
  }
  const rec = recording(ctx);
  const before = loaded.state;
  let state: TaskState = evolve(before, event, { tokens: deps.tokens, window: deps.window });
  if (then === 'complete') {
    const approval = event.data as { actionId?: string; argsHash?: string; expiresAt?: string };
    const pending = state.pending;
    if (pending?.kind === 'answer' && pending.actionId === approval.actionId) {
      // An approval completes the task only if it is bound to exactly this answer, and a person's is still valid.
      const bound = approval.argsHash === answerHash(pending.answer, pending.output);
      const expired = approval.expiresAt !== undefined && Date.parse(approval.expiresAt) <= deps.now().getTime();
      const publish = rec.ctx.publish.bind(rec.ctx);
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
      state = await haltOnExpiry(state, event, rec.ctx);
    }
  } else if (before.status === 'waiting' && state.status === 'planning') {
    state = await advance(state, deps, rec.ctx);
  }
  await deps.store.save(state, loaded.version, handlingOf(event, ctx, rec.outputs));
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
