import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/** ActionApproved of an answer (proposalKind "answer"): TaskCompleted. Approved actions are the executor's. */
export function actionApproved(deps: HandlerDeps) {
  return async (event: EventOf<'ActionApproved'>, ctx: PlannerContext): Promise<void> => {
    if (event.data.proposalKind !== 'answer') return;
    await onTaskEvent(deps, event, ctx, 'complete');
  };
}
