import type { EventOf } from '@warden/contracts';
import { TaskConflictError } from '@warden/runtime';
import { resolveLimits, type TaskCeilings } from '../decide/budget.js';
import { initialState } from '../decide/state.js';
import { advance } from '../planning.js';
import { endedTask, runningTask } from '../task-state.js';
import { keepTask, type HandlerDeps, type PlannerContext } from './outcome.js';

/** Settings TaskSubmitted needs: the default model and the per-task ceilings. */
export interface SubmitSettings {
  readonly defaultModel: string;
  readonly ceilings: TaskCeilings;
}

/**
 * TaskSubmitted: a new task's state (its budgets capped by the ceilings), then the first model call. A task the
 * planner holds (running, halted, or ended within its retention) is not planned again: the same TaskSubmitted changes
 * nothing, another one under its id is refused (TaskConflictError: DLQ, with an alert).
 */
export function taskSubmitted(deps: HandlerDeps, settings: SubmitSettings) {
  return async (event: EventOf<'TaskSubmitted'>, ctx: PlannerContext): Promise<void> => {
    const record = ctx.state.get();
    const held = runningTask(record) ?? endedTask(record);
    if (held !== undefined) {
      if (held.submittedEventId === event.id) return;
      throw new TaskConflictError(
        `task ${event.taskId} is already defined (by event ${held.submittedEventId}, tenant ${held.tenantId}); TaskSubmitted ${event.id} of tenant ${event.tenantId} is refused`,
        { details: { taskId: event.taskId, eventId: event.id, tenantId: event.tenantId } },
      );
    }
    const state = initialState({
      eventId: event.id,
      taskId: event.taskId,
      tenantId: event.tenantId,
      model: event.data.model ?? settings.defaultModel,
      task: event.data,
      startedAtMs: Date.parse(event.occurredAt),
      limits: resolveLimits(event.data.budgets, event.data.risk, settings.ceilings),
    });
    keepTask(deps, ctx, await advance(state, deps, ctx));
  };
}
