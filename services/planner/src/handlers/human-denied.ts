import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** HumanDenied: like a rejection, with the person's comment; next step. */
export function humanDenied(deps: HandlerDeps) {
  return (event: EventOf<'HumanDenied'>, ctx: HandlerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
