import type { EventOf } from '@warden/contracts';
import { TaskConflictError, type HandlerContext } from '@warden/runtime';
import { resolveLimits, type TaskCeilings } from '../decide/budget.js';
import { initialState } from '../decide/state.js';
import { advance } from '../planning.js';
import type { HandlerDeps } from './outcome.js';
import { handlingOf, recording, replayIfRedelivered } from './replay.js';

/** Settings TaskSubmitted needs: the default model and the per-task ceilings. */
export interface SubmitSettings {
  readonly defaultModel: string;
  readonly ceilings: TaskCeilings;
}

/** TaskSubmitted: a new task's state (its budgets capped by the ceilings), then the first model call. */
export function taskSubmitted(deps: HandlerDeps, settings: SubmitSettings) {
  return async (event: EventOf<'TaskSubmitted'>, ctx: HandlerContext): Promise<void> => {
    const loaded = await deps.store.load(event.taskId);
    if (loaded !== null) {
      // already planned; a crash redelivery gets its outputs, the same event again changes nothing
      if (await replayIfRedelivered(loaded.handled, event, ctx)) return;
      if (loaded.state.applied.includes(event.id)) return;
      // A task's definition is immutable: another TaskSubmitted under its id is refused (DLQ, with an alert).
      throw new TaskConflictError(
        `task ${event.taskId} is already defined (by event ${loaded.state.applied[0] ?? 'unknown'}, tenant ${loaded.state.tenantId}); TaskSubmitted ${event.id} of tenant ${event.tenantId} is refused`,
        { details: { taskId: event.taskId, eventId: event.id, tenantId: event.tenantId } },
      );
    }
    const rec = recording(ctx);
    const state = initialState({
      eventId: event.id,
      taskId: event.taskId,
      tenantId: event.tenantId,
      model: event.data.model ?? settings.defaultModel,
      task: event.data,
      startedAtMs: Date.parse(event.occurredAt),
      limits: resolveLimits(event.data.budgets, event.data.risk, settings.ceilings),
    });
    await deps.store.save(await advance(state, deps, rec.ctx), 0, handlingOf(event, ctx, rec.outputs));
  };
}
