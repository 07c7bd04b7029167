import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { EscalationStore } from '../store.js';
import { withEscalation, type TaskEscalations } from '../task-escalations.js';

/** EscalationRequested: a pending escalation people can see and decide; its id kept in the task's state. */
export function escalationRequested(store: EscalationStore) {
  return async (event: EventOf<'EscalationRequested'>, ctx: HandlerContext<TaskEscalations>): Promise<void> => {
    await store.recordRequested(event, ctx.hash);
    ctx.state.set(withEscalation(ctx.state.get(), event.data.escalationId));
  };
}
