import type { EventOf } from '@warden/contracts';
import { runningTask } from '../task-state.js';
import { acceptedDecision } from './decision-auth.js';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/**
 * HumanDenied of the pending proposal: like a rejection, with the person's comment; next step. A denial of anything
 * else changes nothing; one that is not signed by a trusted key or does not answer its escalation exactly is
 * refused with an alert.
 */
export function humanDenied(deps: HandlerDeps) {
  return async (event: EventOf<'HumanDenied'>, ctx: PlannerContext): Promise<void> => {
    const state = runningTask(ctx.state.get());
    if (state === undefined || state.pending?.actionId !== event.data.actionId) return;
    if (state.applied.includes(event.id)) return;
    if (!(await acceptedDecision(deps.decisionTrust, state, event, deps.now(), ctx))) return;
    await onTaskEvent(deps, event, ctx, 'advance');
  };
}
