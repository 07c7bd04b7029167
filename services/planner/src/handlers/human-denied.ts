import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { authentic } from './decision-auth.js';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** HumanDenied: like a rejection, with the person's comment; next step. */
export function humanDenied(deps: HandlerDeps) {
  return async (event: EventOf<'HumanDenied'>, ctx: HandlerContext): Promise<void> => {
    if (!authentic(deps, event, ctx)) return;
    await onTaskEvent(deps, event, ctx, 'advance');
  };
}
