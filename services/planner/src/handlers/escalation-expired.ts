import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/** EscalationExpired of the escalation the task waits on: TaskHalted with its partial result, and an alert. */
export function escalationExpired(deps: HandlerDeps) {
  return (event: EventOf<'EscalationExpired'>, ctx: PlannerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'halt');
}
