import type { EventOf } from '@warden/contracts';
import { escalationKey, type EscalationStore } from '../store.js';

function decided(store: EscalationStore, event: EventOf<'HumanApproved'> | EventOf<'HumanDenied'>): Promise<void> {
  const outcome = event.type === 'HumanApproved' ? 'approved' : 'denied';
  const d = event.data;
  return store.recordOutcome(escalationKey(event.taskId, d.escalationId), outcome, {
    outcome,
    by: d.decidedBy.id,
    ...(d.decidedBy.role === undefined ? {} : { role: d.decidedBy.role }),
    at: event.occurredAt,
    ...(d.comment === undefined ? {} : { comment: d.comment }),
    eventId: event.id,
  });
}

/** HumanApproved (this service's own output, read back so the projection rebuilds from the log): approved. */
export function humanApproved(store: EscalationStore) {
  return (event: EventOf<'HumanApproved'>): Promise<void> => decided(store, event);
}

/** HumanDenied (this service's own output, read back): denied. */
export function humanDenied(store: EscalationStore) {
  return (event: EventOf<'HumanDenied'>): Promise<void> => decided(store, event);
}
