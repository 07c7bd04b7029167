import type { EventOf } from '@warden/contracts';
import { escalationKey, type EscalationStore } from '../store.js';

/** TaskResumed or TaskCancelled (this service's own output, read back so the projection rebuilds from the log). */
export function haltDecided(store: EscalationStore) {
  return (event: EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>): Promise<void> => {
    const outcome = event.type === 'TaskResumed' ? 'resumed' : 'cancelled';
    const d = event.data;
    return store.recordOutcome(escalationKey(event.taskId, d.escalationId), outcome, {
      outcome,
      by: d.decidedBy.id,
      ...(d.decidedBy.role === undefined ? {} : { role: d.decidedBy.role }),
      at: event.occurredAt,
      ...(d.comment === undefined ? {} : { comment: d.comment }),
      eventId: event.id,
    });
  };
}
