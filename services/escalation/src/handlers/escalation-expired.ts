import type { EventOf } from '@warden/contracts';
import { escalationKey, type EscalationStore } from '../store.js';

/** EscalationExpired (this service's own output, read back): expired. */
export function escalationExpired(store: EscalationStore) {
  return (event: EventOf<'EscalationExpired'>): Promise<void> =>
    store.recordOutcome(escalationKey(event.taskId, event.data.escalationId), 'expired', {
      outcome: 'expired',
      at: event.occurredAt,
      eventId: event.id,
    });
}
