import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** EscalationRequested: the escalation is kept with the task, so a person's decision can be checked against it. */
export function escalationRequested(deps: HandlerDeps) {
  return (event: EventOf<'EscalationRequested'>, ctx: HandlerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
