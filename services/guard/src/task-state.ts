import {
  Impact,
  deepFreeze,
  eventDataSchemas,
  eventSchemas,
  type EventData,
  type EventOf,
  type JsonValue,
} from '@warden/contracts';
import { evolve, initialTaskView, type TaskView } from '@warden/policy';
import { TaskConflictError, type TaskState } from '@warden/runtime';
import { z } from 'zod';

/** A proposal waiting for its causes (its task's TaskSubmitted, the tool results its claims cite). */
const PendingProposal = z.object({
  event: z.union([eventSchemas.ActionProposed, eventSchemas.AnswerProposed]),
  /** The proposal's hash: its verdict chains to it. */
  hash: z.string().min(1),
  /** When it is judged on what is known if its causes have still not arrived (epoch ms). */
  deadlineMs: z.number(),
});
/** A waiting proposal, as the handlers use it. */
export interface PendingProposal {
  readonly event: EventOf<'ActionProposed'> | EventOf<'AnswerProposed'>;
  readonly hash: string;
  readonly deadlineMs: number;
}

/**
 * The guard's state of one task (ADR 0027), kept by the runtime in the guard's changelog
 * (`<prefix>.guard-state.v1`) and validated with this schema when it is restored: the TaskSubmitted data (the only
 * source of scope and limits, after the tenant's caps), the task's validated tool results, the impact of what the
 * guard approved, and the proposals that wait for their causes.
 */
const GuardTaskStateSchema = z.object({
  tenantId: z.string().optional(),
  task: eventDataSchemas.TaskSubmitted.optional(),
  /** The id of the TaskSubmitted that defined the task. */
  submittedEventId: z.string().optional(),
  /** The TaskSubmitted's occurredAt: the start of the task's wall-time budget. */
  submittedAt: z.string().optional(),
  results: z.array(z.object({ actionId: z.string(), tool: z.string(), result: z.unknown() })),
  approved: z.array(z.object({ actionId: z.string(), impact: Impact })),
  pending: z.array(PendingProposal),
});
/** The guard's state of one task, as the handlers use it. */
export type GuardTaskState = Omit<z.infer<typeof GuardTaskStateSchema>, 'pending'> & {
  readonly pending: readonly PendingProposal[];
};
/** The schema a restored value is checked with (a record that fails is skipped, ADR 0027). */
export const GuardTaskState = GuardTaskStateSchema as unknown as z.ZodType<GuardTaskState>;

/** The state of a task nothing is known of yet. */
export const emptyTaskState = (): GuardTaskState => ({ results: [], approved: [], pending: [] });

/** The task's state, or an empty one. */
export const stateOf = (state: TaskState<GuardTaskState>): GuardTaskState => state.get() ?? emptyTaskState();

/**
 * Records the submitted task, once: the same TaskSubmitted again changes nothing, and another one for a task
 * already defined is refused with a TaskConflictError (a task's scope, limits and tenant never change).
 */
export function withTask(
  current: GuardTaskState,
  event: EventOf<'TaskSubmitted'>,
  task: EventData<'TaskSubmitted'>,
): GuardTaskState {
  if (current.task !== undefined) {
    if (current.submittedEventId === event.id) return current;
    throw new TaskConflictError(
      `task ${event.taskId} is already defined (by event ${current.submittedEventId}, tenant ${current.tenantId}); TaskSubmitted ${event.id} of tenant ${event.tenantId} is refused`,
      { details: { taskId: event.taskId, eventId: event.id, tenantId: event.tenantId } },
    );
  }
  return { ...current, tenantId: event.tenantId, task, submittedEventId: event.id, submittedAt: event.occurredAt };
}

/** The view decide() is judged on: the state folded with evolve, the same fold the auditor's backtest runs. */
export function viewOf(taskId: string, state: GuardTaskState): TaskView {
  if (state.task === undefined || state.tenantId === undefined) return initialTaskView(taskId);
  let view = evolve(initialTaskView(taskId), {
    type: 'TaskSubmitted',
    tenantId: state.tenantId,
    data: deepFreeze<EventData<'TaskSubmitted'>>(state.task),
  });
  for (const r of state.results) {
    view = evolve(view, {
      type: 'ToolSucceeded',
      data: deepFreeze({ actionId: r.actionId, tool: r.tool, result: r.result as JsonValue }),
    });
  }
  for (const a of state.approved) view = evolve(view, { type: 'ActionApproved', data: a });
  return view;
}

/** The end of the task's wall-time budget in ms (its submission plus budgets.maxWallTimeMs), if known. */
export function deadlineOf(state: GuardTaskState): number | undefined {
  if (state.task === undefined || state.submittedAt === undefined) return undefined;
  return Date.parse(state.submittedAt) + state.task.budgets.maxWallTimeMs;
}

/** The earliest deadline of the waiting proposals (the task's wake-up), if any wait. */
export function nextWake(state: GuardTaskState): number | undefined {
  return state.pending.length === 0 ? undefined : Math.min(...state.pending.map((p) => p.deadlineMs));
}
