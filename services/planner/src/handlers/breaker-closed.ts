import type { EventOf } from '@warden/contracts';
import type { HandlerDeps } from './outcome.js';

/** BreakerClosed of a tool: the tool is offered again. */
export function breakerClosed(deps: HandlerDeps) {
  return async (event: EventOf<'BreakerClosed'>): Promise<void> => {
    if (event.data.scope === 'tool') deps.markToolClosed(event.data.name);
    await Promise.resolve();
  };
}
