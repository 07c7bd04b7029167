import type { EventOf } from '@warden/contracts';
import type { EscalationStore } from '../store.js';

/** AlertRaised: kept for people to see beside the escalations. */
export function alertRaised(store: EscalationStore) {
  return (event: EventOf<'AlertRaised'>): Promise<void> => store.recordAlert(event);
}
