import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { acceptedDecision } from './decision-auth.js';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/**
 * HumanApproved: when it approves the pending answer, TaskCompleted; an approved action is the executor's, and
 * its result comes back as ToolSucceeded or ToolFailed.
 */
export function humanApproved(deps: HandlerDeps) {
  return async (event: EventOf<'HumanApproved'>, ctx: HandlerContext): Promise<void> => {
    const loaded = await deps.store.load(event.taskId);
    const pending = loaded?.state.pending;
    if (loaded === null || pending?.kind !== 'answer' || pending.actionId !== event.data.actionId) return;
    if (!loaded.state.applied.includes(event.id)) {
      if (!(await acceptedDecision(deps.decisionTrust, loaded.state, event, deps.now(), ctx))) return;
    }
    await onTaskEvent(deps, event, ctx, 'complete');
  };
}
