import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/**
 * ToolFailed: counts toward the task's breaker and loop detection; a `breaker_open` failure takes the tool out of
 * the offer; then the next step (or a halt).
 */
export function toolFailed(deps: HandlerDeps) {
  return (event: EventOf<'ToolFailed'>, ctx: PlannerContext): Promise<void> => {
    if (event.data.errorClass === 'breaker_open') deps.markToolOpen(event.data.tool, Date.parse(event.occurredAt));
    return onTaskEvent(deps, event, ctx, 'advance');
  };
}
