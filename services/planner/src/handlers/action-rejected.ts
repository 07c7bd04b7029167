import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/** ActionRejected (an action or an answer): the reason goes back to the model, counts as a failure; next step. */
export function actionRejected(deps: HandlerDeps) {
  return (event: EventOf<'ActionRejected'>, ctx: PlannerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
