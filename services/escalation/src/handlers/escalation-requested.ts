import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { EscalationStore } from '../store.js';

/** EscalationRequested: a pending escalation people can see and decide. */
export function escalationRequested(store: EscalationStore) {
  return (event: EventOf<'EscalationRequested'>, ctx: HandlerContext): Promise<void> =>
    store.recordRequested(event, ctx.hash);
}
