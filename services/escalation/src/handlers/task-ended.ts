import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { EscalationStore } from '../store.js';
import type { TaskEscalations } from '../task-escalations.js';

/**
 * TaskCompleted, TaskFailed or TaskHalted: nothing is left to decide for the task, so its pending escalations are
 * cancelled, except the one a halt names (it asks a person about the halted task), whose halt is recorded so an
 * admin can resume or cancel it. Which escalations the task had is in its state (ADR 0033): a task never escalated
 * ends without a query; the state is dropped with the task.
 */
export function taskEnded(store: EscalationStore) {
  return async (
    event: EventOf<'TaskCompleted'> | EventOf<'TaskFailed'> | EventOf<'TaskHalted'>,
    ctx: HandlerContext<TaskEscalations>,
  ): Promise<void> => {
    if (event.type === 'TaskHalted') await store.recordHalt(event, ctx.hash);
    const keep = event.type === 'TaskHalted' ? event.data.escalationId : undefined;
    const asked = ctx.state.get()?.escalations ?? [];
    await store.cancelPending(
      event.taskId,
      asked.filter((id) => id !== keep),
    );
    ctx.state.delete();
  };
}
