import type { EventOf, VerifyingKey } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { escalationKey, type EscalationStore } from '../store.js';
import { signedByUs } from './own-signature.js';

type Decided = EventOf<'HumanApproved'> | EventOf<'HumanDenied'> | EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>;

const outcomes = {
  HumanApproved: 'approved',
  HumanDenied: 'denied',
  TaskResumed: 'resumed',
  TaskCancelled: 'cancelled',
} as const;

/** Records a decision this service published, read back: who, in which role, when and why. */
export function decided(store: EscalationStore, event: Decided): Promise<void> {
  const outcome = outcomes[event.type];
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

/**
 * HumanApproved (this service's own output, read back so the projection rebuilds from the log): approved, if this
 * service signed it.
 */
export function humanApproved(store: EscalationStore, keys: ReadonlyMap<string, VerifyingKey>) {
  return async (event: EventOf<'HumanApproved'>, ctx: HandlerContext): Promise<void> => {
    if (signedByUs(event, keys, ctx)) await decided(store, event);
  };
}

/** HumanDenied (this service's own output, read back): denied. */
export function humanDenied(store: EscalationStore, keys: ReadonlyMap<string, VerifyingKey>) {
  return async (event: EventOf<'HumanDenied'>, ctx: HandlerContext): Promise<void> => {
    if (signedByUs(event, keys, ctx)) await decided(store, event);
  };
}
