import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/** EscalationRequested: the escalation is kept with the task, so a person's decision can be checked against it. */
export function escalationRequested(deps: HandlerDeps) {
  return (event: EventOf<'EscalationRequested'>, ctx: PlannerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
