import type { EventOf } from '@warden/contracts';
import { runningTask } from '../task-state.js';
import { acceptedDecision } from './decision-auth.js';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/**
 * HumanApproved: when it approves the pending answer, TaskCompleted; an approved action is the executor's, and
 * its result comes back as ToolSucceeded or ToolFailed.
 */
export function humanApproved(deps: HandlerDeps) {
  return async (event: EventOf<'HumanApproved'>, ctx: PlannerContext): Promise<void> => {
    const state = runningTask(ctx.state.get());
    const pending = state?.pending;
    if (state === undefined || pending?.kind !== 'answer' || pending.actionId !== event.data.actionId) return;
    if (state.applied.includes(event.id)) return;
    if (!(await acceptedDecision(deps.decisionTrust, state, event, deps.now(), ctx))) return;
    await onTaskEvent(deps, event, ctx, 'complete');
  };
}
