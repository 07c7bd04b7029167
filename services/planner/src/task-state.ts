import {
  ChatMessage,
  HeldEscalationSchema,
  HeldHaltSchema,
  JsonObject,
  JsonValue,
  TokenUsage,
} from '@warden/contracts';
import type { TaskState as KeyedState } from '@warden/runtime';
import { z } from 'zod';
import { TaskStatuses, type TaskState } from './decide/types.js';
import { taskViewOf, type TaskViewSink } from './task-views.js';

/** A TaskState as restored from the planner's changelog: every field checked (ADR 0027: a record that fails is skipped). */
const TaskStateSchema = z.object({
  taskId: z.string().min(1),
  submittedEventId: z.string().min(1),
  tenantId: z.string().min(1),
  model: z.string(),
  goal: z.string(),
  input: JsonObject,
  scopeTools: z.array(z.string()),
  startedAtMs: z.number(),
  limits: z.object({
    maxTokens: z.number(),
    maxCostUsd: z.number(),
    maxSteps: z.number(),
    maxWallTimeMs: z.number(),
    maxConsecutiveFailures: z.number(),
  }),
  status: z.enum(TaskStatuses),
  steps: z.number().int().nonnegative(),
  modelCalls: z.number().int().nonnegative(),
  turns: z.array(
    z.object({ assistant: ChatMessage, replies: z.array(ChatMessage), logprobConfidence: z.number().nullable() }),
  ),
  queue: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })),
  pending: z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('action'),
        actionId: z.string(),
        tool: z.string(),
        argsHash: z.string(),
        toolCallId: z.string(),
      }),
      z.object({ kind: z.literal('answer'), actionId: z.string(), answer: z.string(), output: JsonValue.optional() }),
    ])
    .nullable(),
  history: z.array(
    z.object({
      actionId: z.string(),
      tool: z.string(),
      argsHash: z.string(),
      outcome: z.enum(['succeeded', 'failed', 'rejected', 'denied']),
      resultHash: z.string(),
      note: z.string(),
    }),
  ),
  consecutiveFailures: z.number().int().nonnegative(),
  totals: z.object({ usage: TokenUsage, costUsd: z.number().nonnegative() }),
  applied: z.array(z.string()),
  endReason: z.string().nullable(),
  escalations: z.array(HeldEscalationSchema).optional(),
  halt: HeldHaltSchema.optional(),
  loopFrom: z.number().int().nonnegative().optional(),
  resumes: z.number().int().nonnegative().optional(),
  given: z
    .array(z.object({ actionId: z.string(), tool: z.string(), args: JsonObject, reasoning: z.string() }))
    .optional(),
  // absent in records written before ADR 0031: derived from totals (taskBudgetOf)
  budget: z
    .object({
      tokens: z.number().int().nonnegative(),
      microUsd: z.number().int().nonnegative(),
      open: z
        .object({
          callId: z.string(),
          tokens: z.number().int().nonnegative(),
          microUsd: z.number().int().nonnegative(),
        })
        .optional(),
    })
    .optional(),
});

/** What is kept of a completed or failed task until its retention ends (ADR 0029). */
export interface EndedTask {
  readonly tenantId: string;
  readonly status: 'completed' | 'failed';
  /** The TaskSubmitted that defined it: the same one again changes nothing, another one is a conflict (DLQ). */
  readonly submittedEventId: string;
  readonly endReason: string | null;
  /** When the record is deleted (epoch ms); absent: kept for ever. */
  readonly expiresAtMs?: number;
}

/**
 * The planner's keyed state of one task (ADR 0029), in memory per partition and in the compacted changelog
 * `<prefix>.planner-state.v1`: the whole TaskState while the task runs or is halted (an admin may resume it), then
 * only a small marker of its end, deleted when its retention has passed.
 */
export type PlannerRecord =
  | {
      readonly task: TaskState;
      /** Grows with each state kept: orders the task's views (TaskViewDoc.revision). */
      readonly revision: number;
    }
  | { readonly ended: EndedTask };

const PlannerRecordSchema = z.union([
  z.object({ task: TaskStateSchema, revision: z.number().int().nonnegative() }).strict(),
  z
    .object({
      ended: z.object({
        tenantId: z.string().min(1),
        status: z.enum(['completed', 'failed']),
        submittedEventId: z.string().min(1),
        endReason: z.string().nullable(),
        expiresAtMs: z.number().optional(),
      }),
    })
    .strict(),
]);
/** The schema a restored value is checked with. */
export const PlannerRecord = PlannerRecordSchema as unknown as z.ZodType<PlannerRecord>;

/** The running (or halted) task of a record; undefined when the task is unknown or has ended. */
export const runningTask = (record: PlannerRecord | undefined): TaskState | undefined =>
  record !== undefined && 'task' in record ? record.task : undefined;

/** The end marker of a record; undefined when the task is unknown or still running. */
export const endedTask = (record: PlannerRecord | undefined): EndedTask | undefined =>
  record !== undefined && 'ended' in record ? record.ended : undefined;

/** Whether a task has ended for good (completed or failed; a halted task may still be resumed). */
const isFinal = (state: TaskState): state is TaskState & { status: 'completed' | 'failed' } =>
  state.status === 'completed' || state.status === 'failed';

/**
 * The record of a task's state: the state itself (at `revision`) while it runs or is halted; once completed or
 * failed, its end marker, to be deleted `retentionMs` after `nowMs` (0: kept for ever).
 */
export function recordOf(state: TaskState, revision: number, retentionMs: number, nowMs: number): PlannerRecord {
  if (!isFinal(state)) return { task: state, revision };
  return {
    ended: {
      tenantId: state.tenantId,
      status: state.status,
      submittedEventId: state.submittedEventId,
      endReason: state.endReason,
      ...(retentionMs > 0 ? { expiresAtMs: nowMs + retentionMs } : {}),
    },
  };
}

/** What keeping a task's state needs: the ended tasks' retention, the clock and where views go. */
export interface KeepOptions {
  readonly endedTaskRetentionMs: number;
  readonly now: () => Date;
  readonly views: TaskViewSink;
}

/**
 * Whether people may look at the task's view: the escalation page, its only reader, shows it beside an escalation of
 * the task. So a task that holds an escalation or a halt, or has halted, has its view written (and from then on at
 * each handling: it keeps its escalations), and one that never came before a person has none: no write for it at
 * all. On FerretDB each view write scans the collection (ADR 0030: 1.1-2.2 s at 10,000 views, taking the CPU the
 * hops' writes need), so views of tasks nobody will look at are not worth their cost.
 */
export function viewShown(state: TaskState): boolean {
  return (state.escalations?.length ?? 0) > 0 || state.halt !== undefined || state.status === 'halted';
}

/**
 * Keeps a task's state in its keyed state (written in the handling's transaction), with its wake-up once it has
 * ended, and leaves its view for the write-behind when people may look at it (viewShown).
 */
export function keep(handle: KeyedState<PlannerRecord>, state: TaskState, options: KeepOptions): void {
  const current = handle.get();
  const revision = (current !== undefined && 'task' in current ? current.revision : 0) + 1;
  const now = options.now();
  const record = recordOf(state, revision, options.endedTaskRetentionMs, now.getTime());
  handle.set(record);
  handle.wakeAt(endedTask(record)?.expiresAtMs);
  if (viewShown(state)) options.views.put(taskViewOf(state, revision, now));
}

/** The wake-up: an ended task's marker past its retention is deleted (a tombstone in the changelog). */
export function expire(handle: KeyedState<PlannerRecord>, nowMs: number): void {
  const ended = endedTask(handle.get());
  if (ended?.expiresAtMs !== undefined && ended.expiresAtMs <= nowMs) handle.delete();
}
