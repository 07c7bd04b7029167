import { HeldEscalationSchema, Scope, eventSchemas, type EventOf, type HeldEscalation } from '@warden/contracts';
import { TaskConflictError, type TaskState } from '@warden/runtime';
import { z } from 'zod';

/** A task as the executor holds it: whose it is, what it may touch, and whether it has ended. */
export interface HeldTask {
  readonly taskId: string;
  readonly tenantId: string;
  /** The scope of its TaskSubmitted; absent when only its end was seen. */
  readonly scope?: Scope;
  readonly ended: boolean;
}

/** An approval consumed before its task's TaskSubmitted, waiting for it (ADR 0028). */
const PendingApproval = z.object({
  event: z.union([eventSchemas.ActionApproved, eventSchemas.HumanApproved]),
  /** The approval's hash: what the executor publishes for it chains to it. */
  hash: z.string().min(1),
  /** When it is refused as task_unknown if the TaskSubmitted has still not come (epoch ms). */
  deadlineMs: z.number(),
});
/** A waiting approval, as the handlers use it. */
export interface PendingApproval {
  readonly event: EventOf<'ActionApproved'> | EventOf<'HumanApproved'>;
  readonly hash: string;
  readonly deadlineMs: number;
}

/** An effect of the task whose outcome is recorded, and published in a committed transaction with this state. */
const DoneEffect = z.object({
  actionId: z.string(),
  /** The args hash the effect was approved with: another approval of the action must bind the same args. */
  argsHash: z.string(),
  /** The approval the outcome was recorded under. */
  approvalEventId: z.string(),
});
/** An effect done, as the handlers use it. */
export type DoneEffect = z.infer<typeof DoneEffect>;

/**
 * The executor's state of one task (ADR 0028), kept by the runtime in the executor's changelog
 * (`<prefix>.executor-state.v1`) and validated with this schema when it is restored: the task's definition (tenant and
 * scope of its first TaskSubmitted), whether it has ended (and the seq of the event that said so, since an end and an
 * admin's resume travel on different topics), the escalations a person's approval must answer, and the approvals
 * that wait for the TaskSubmitted.
 */
const ExecutorTaskStateSchema = z.object({
  tenantId: z.string().optional(),
  scope: Scope.optional(),
  /** The TaskSubmitted that defined it: a task is defined once, the first definition stands. */
  submittedEventId: z.string().optional(),
  ended: z.boolean(),
  /** The seq of the last event that ended or reopened it (a TaskHalted, then an admin's TaskResumed). */
  stateSeq: z.number().optional(),
  escalations: z.array(HeldEscalationSchema),
  pending: z.array(PendingApproval),
  /**
   * The effects whose outcome this state committed with (absent in records written before it was kept): another
   * approval of one of them is answered from here, without reading the effect ledger (a scan on FerretDB).
   */
  effects: z.array(DoneEffect).optional(),
  /** When the record of a completed or failed task is deleted (epoch ms); absent: kept. */
  expiresAtMs: z.number().optional(),
});
/** The executor's state of one task, as the handlers use it. */
export type ExecutorTaskState = Omit<z.infer<typeof ExecutorTaskStateSchema>, 'pending' | 'escalations'> & {
  readonly escalations: readonly HeldEscalation[];
  readonly pending: readonly PendingApproval[];
};
/** The schema a restored value is checked with (a record that fails is skipped, ADR 0027). */
export const ExecutorTaskState = ExecutorTaskStateSchema as unknown as z.ZodType<ExecutorTaskState>;

/** The state of a task nothing is known of yet. */
export const emptyTaskState = (): ExecutorTaskState => ({ ended: false, escalations: [], pending: [] });

/** The task's state, or an empty one. */
export const stateOf = (state: TaskState<ExecutorTaskState>): ExecutorTaskState => state.get() ?? emptyTaskState();

/** Whether the task's TaskSubmitted has been seen. */
export const isDefined = (state: ExecutorTaskState | undefined): boolean => state?.submittedEventId !== undefined;

/** The task as the checks see it: undefined when nothing of it is known (neither its definition nor its end). */
export function heldTaskOf(taskId: string, state: ExecutorTaskState | undefined): HeldTask | undefined {
  if (state?.tenantId === undefined) return undefined;
  return {
    taskId,
    tenantId: state.tenantId,
    ended: state.ended,
    ...(state.scope === undefined ? {} : { scope: state.scope }),
  };
}

/**
 * Records the task from its TaskSubmitted, once: the same TaskSubmitted again changes nothing, and another one for
 * a task already defined is refused with a TaskConflictError (a task's tenant and scope never change). An end seen
 * before the definition stays.
 */
export function withTask(current: ExecutorTaskState, event: EventOf<'TaskSubmitted'>): ExecutorTaskState {
  if (current.submittedEventId !== undefined) {
    if (current.submittedEventId === event.id) return current;
    throw new TaskConflictError(
      `task ${event.taskId} is already defined (by event ${current.submittedEventId}); TaskSubmitted ${event.id} of tenant ${event.tenantId} is refused`,
      { details: { taskId: event.taskId, eventId: event.id, tenantId: event.tenantId } },
    );
  }
  return { ...current, tenantId: event.tenantId, scope: event.data.scope, submittedEventId: event.id };
}

/**
 * The task ended (TaskCompleted, TaskFailed, TaskHalted at `seq` of its chain), unless a later resume was already
 * seen. A completed or failed task keeps only what refuses its late approvals and a second definition (tenant,
 * definition, end); a halted one keeps its scope and escalations for an admin's resume.
 */
export function withEnd(
  current: ExecutorTaskState,
  tenantId: string,
  seq: number,
  final: { readonly expiresAtMs: number | undefined } | undefined,
): ExecutorTaskState {
  if (current.stateSeq !== undefined && current.stateSeq > seq) return current; // reopened by a later resume
  const ended = { ...current, tenantId: current.tenantId ?? tenantId, ended: true, stateSeq: seq };
  if (final === undefined) return ended;
  const { scope: _scope, expiresAtMs: _expires, effects: _effects, ...rest } = ended;
  return { ...rest, escalations: [], ...(final.expiresAtMs === undefined ? {} : { expiresAtMs: final.expiresAtMs }) };
}

/** An admin's authenticated resume at `seq`: the task runs again, unless an end later in its chain was seen. */
export function withResume(current: ExecutorTaskState, tenantId: string, seq: number): ExecutorTaskState {
  if (current.stateSeq !== undefined && current.stateSeq > seq) return current;
  return { ...current, tenantId: current.tenantId ?? tenantId, ended: false, stateSeq: seq };
}

/** Records effects whose outcomes were published in this handling (once each). */
export function withEffects(current: ExecutorTaskState, done: readonly DoneEffect[]): ExecutorTaskState {
  if (done.length === 0) return current;
  const known = new Set((current.effects ?? []).map((e) => e.actionId));
  const added = done.filter((e) => !known.has(e.actionId) && known.add(e.actionId));
  return added.length === 0 ? current : { ...current, effects: [...(current.effects ?? []), ...added] };
}

/** Records (or replaces: the same id again) an escalation of the task. */
export function withEscalation(current: ExecutorTaskState, held: HeldEscalation): ExecutorTaskState {
  const others = current.escalations.filter((e) => e.escalationId !== held.escalationId);
  return { ...current, escalations: [...others, held] };
}

/** The next wake-up: the earliest deadline of the waiting approvals (refused then), or the record's expiry. */
export function nextWake(state: ExecutorTaskState): number | undefined {
  const times = [
    ...state.pending.map((p) => p.deadlineMs),
    ...(state.expiresAtMs === undefined ? [] : [state.expiresAtMs]),
  ];
  return times.length === 0 ? undefined : Math.min(...times);
}

/** Whether the record is past its retention (a completed or failed task with nothing waiting): it is deleted. */
export const isExpired = (state: ExecutorTaskState, nowMs: number): boolean =>
  state.expiresAtMs !== undefined && state.expiresAtMs <= nowMs && state.pending.length === 0;
