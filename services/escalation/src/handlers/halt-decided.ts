import type { EventOf, VerifyingKey } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { escalationKey, type EscalationStore } from '../store.js';
import { signedByUs } from './own-signature.js';

/**
 * TaskResumed or TaskCancelled (this service's own output, read back so the projection rebuilds from the log), if
 * this service signed it.
 */
export function haltDecided(store: EscalationStore, keys: ReadonlyMap<string, VerifyingKey>) {
  return async (event: EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>, ctx: HandlerContext): Promise<void> => {
    if (!signedByUs(event, keys, ctx)) return;
    const outcome = event.type === 'TaskResumed' ? 'resumed' : 'cancelled';
    const d = event.data;
    await store.recordOutcome(escalationKey(event.taskId, d.escalationId), outcome, {
      outcome,
      by: d.decidedBy.id,
      ...(d.decidedBy.role === undefined ? {} : { role: d.decidedBy.role }),
      at: event.occurredAt,
      ...(d.comment === undefined ? {} : { comment: d.comment }),
      eventId: event.id,
    });
  };
}
