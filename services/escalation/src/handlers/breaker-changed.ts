import type { EventOf } from '@warden/contracts';
import type { TaskViews } from '../task-view.js';

/** BreakerOpened or BreakerClosed: the breaker state people see beside an escalation. */
export function breakerChanged(views: TaskViews) {
  return (event: EventOf<'BreakerOpened'> | EventOf<'BreakerClosed'>): Promise<void> => views.recordBreaker(event);
}
