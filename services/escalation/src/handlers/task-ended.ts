import type { EventOf } from '@warden/contracts';
import type { EscalationStore } from '../store.js';

/**
 * TaskCompleted, TaskFailed or TaskHalted: nothing is left to decide for the task, so its pending escalations are
 * cancelled, except the one a halt names (it asks a person about the halted task).
 */
export function taskEnded(store: EscalationStore) {
  return (event: EventOf<'TaskCompleted'> | EventOf<'TaskFailed'> | EventOf<'TaskHalted'>): Promise<void> =>
    store.cancelPending(event.taskId, event.type === 'TaskHalted' ? event.data.escalationId : undefined);
}
