import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** ActionApproved of an answer (proposalKind "answer"): TaskCompleted. Approved actions are the executor's. */
export function actionApproved(deps: HandlerDeps) {
  return async (event: EventOf<'ActionApproved'>, ctx: HandlerContext): Promise<void> => {
    if (event.data.proposalKind !== 'answer') return;
    await onTaskEvent(deps, event, ctx, 'complete');
  };
}
