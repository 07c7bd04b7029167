import type { EventOf } from '@warden/contracts';
import type { HandlerDeps } from './outcome.js';

/** BreakerOpened of a tool: the tool is no longer offered to the model (task breakers are the planner's own). */
export function breakerOpened(deps: HandlerDeps) {
  return async (event: EventOf<'BreakerOpened'>): Promise<void> => {
    if (event.data.scope === 'tool') deps.markToolOpen(event.data.name, Date.parse(event.occurredAt));
    await Promise.resolve();
  };
}
