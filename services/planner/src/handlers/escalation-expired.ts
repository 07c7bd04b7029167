import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** EscalationExpired of the escalation the task waits on: TaskHalted with its partial result, and an alert. */
export function escalationExpired(deps: HandlerDeps) {
  return (event: EventOf<'EscalationExpired'>, ctx: HandlerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'halt');
}
