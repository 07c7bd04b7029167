import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** ActionRejected (an action or an answer): the reason goes back to the model, counts as a failure; next step. */
export function actionRejected(deps: HandlerDeps) {
  return (event: EventOf<'ActionRejected'>, ctx: HandlerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
