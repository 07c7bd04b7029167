import type { EventOf, VerifyingKey } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { EscalationStore } from '../store.js';
import { decided } from './human-decided.js';
import { signedByUs } from './own-signature.js';

/**
 * TaskResumed or TaskCancelled (this service's own output, read back so the projection rebuilds from the log), if
 * this service signed it.
 */
export function haltDecided(store: EscalationStore, keys: ReadonlyMap<string, VerifyingKey>) {
  return async (event: EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>, ctx: HandlerContext): Promise<void> => {
    if (signedByUs(event, keys, ctx)) await decided(store, event);
  };
}
