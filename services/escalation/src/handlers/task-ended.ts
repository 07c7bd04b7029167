import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { EscalationStore } from '../store.js';

/**
 * TaskCompleted, TaskFailed or TaskHalted: nothing is left to decide for the task, so its pending escalations are
 * cancelled, except the one a halt names (it asks a person about the halted task), whose halt is recorded so an
 * admin can resume or cancel it.
 */
export function taskEnded(store: EscalationStore) {
  return async (
    event: EventOf<'TaskCompleted'> | EventOf<'TaskFailed'> | EventOf<'TaskHalted'>,
    ctx: HandlerContext,
  ): Promise<void> => {
    if (event.type === 'TaskHalted') await store.recordHalt(event, ctx.hash);
    await store.cancelPending(event.taskId, event.type === 'TaskHalted' ? event.data.escalationId : undefined);
  };
}
