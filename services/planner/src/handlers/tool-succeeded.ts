import type { EventOf } from '@warden/contracts';
import { onTaskEvent, type HandlerDeps, type PlannerContext } from './outcome.js';

/** ToolSucceeded: the result enters the conversation (cut to its budget); loops are checked; the next step. */
export function toolSucceeded(deps: HandlerDeps) {
  return (event: EventOf<'ToolSucceeded'>, ctx: PlannerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
