import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { acceptedDecision } from './decision-auth.js';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/**
 * HumanDenied of the pending proposal: like a rejection, with the person's comment; next step. A denial of anything
 * else changes nothing; one that is not signed by a trusted key or does not answer its escalation exactly is
 * refused with an alert.
 */
export function humanDenied(deps: HandlerDeps) {
  return async (event: EventOf<'HumanDenied'>, ctx: HandlerContext): Promise<void> => {
    const loaded = await deps.store.load(event.taskId);
    if (loaded === null || loaded.state.pending?.actionId !== event.data.actionId) return;
    if (!loaded.state.applied.includes(event.id)) {
      if (!(await acceptedDecision(deps.decisionTrust, loaded.state, event, deps.now(), ctx))) return;
    }
    await onTaskEvent(deps, event, ctx, 'advance');
  };
}
