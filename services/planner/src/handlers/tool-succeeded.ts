import type { EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { onTaskEvent, type HandlerDeps } from './outcome.js';

/** ToolSucceeded: the result enters the conversation (cut to its budget); loops are checked; the next step. */
export function toolSucceeded(deps: HandlerDeps) {
  return (event: EventOf<'ToolSucceeded'>, ctx: HandlerContext): Promise<void> =>
    onTaskEvent(deps, event, ctx, 'advance');
}
