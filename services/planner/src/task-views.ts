import { MONGO_DUPLICATE_KEY_CODE } from '@warden/contracts';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import type { Logger } from 'pino';
import type { TaskState } from './decide/types.js';

/** The collection of task views: what people see of a task's budget (the escalation page), by task id. */
export const TASK_VIEWS_COLLECTION = 'planner_task_views';

/** Most views written by one bulkWrite. */
const MAX_VIEWS_PER_WRITE = 1_000;

/**
 * A task's budget figures as people see them (ADR 0029), written off the hot path by TaskViewWriter. Read by the
 * escalation service by `_id` (the `_id` index on MongoDB); the reader's copy of this shape is
 * services/escalation/src/task-view.ts.
 */
export interface TaskViewDoc {
  /** The task id. */
  readonly _id: string;
  readonly tenantId: string;
  readonly status: string;
  /** Grows with each state the planner keeps for the task: an older view never replaces a newer one. */
  readonly revision: number;
  readonly tokens: { readonly used: number; readonly limit: number };
  readonly costUsd: { readonly used: number; readonly limit: number };
  readonly steps: { readonly used: number; readonly limit: number };
  readonly failures: { readonly consecutive: number; readonly limit: number };
  readonly updatedAt: string;
}

/** The view of a task's state at `revision`. Pure. */
export function taskViewOf(state: TaskState, revision: number, now: Date): TaskViewDoc {
  return {
    _id: state.taskId,
    tenantId: state.tenantId,
    status: state.status,
    revision,
    tokens: { used: state.totals.usage.totalTokens, limit: state.limits.maxTokens },
    costUsd: { used: state.totals.costUsd, limit: state.limits.maxCostUsd },
    steps: { used: state.steps, limit: state.limits.maxSteps },
    failures: { consecutive: state.consecutiveFailures, limit: state.limits.maxConsecutiveFailures },
    updatedAt: now.toISOString(),
  };
}

/** Where the handlers leave a task's view: never blocks, never fails. */
export interface TaskViewSink {
  put(view: TaskViewDoc): void;
}

/** A sink that keeps nothing (unit tests). */
export const NO_TASK_VIEWS: TaskViewSink = { put: () => undefined };

/** Settings of the write-behind. */
export interface TaskViewWriterOptions {
  /** How often waiting views are written (PLANNER_TASK_VIEW_FLUSH_MS). */
  readonly flushMs: number;
  /** Most views waiting; beyond it the oldest is dropped (PLANNER_TASK_VIEW_MAX_PENDING). */
  readonly maxPending: number;
  readonly logger: Logger;
}

/**
 * Writes task views behind the handlers (ADR 0029): `put` only remembers the latest view of each task, and every
 * `flushMs` the waiting ones are written with one unordered bulkWrite of upserts guarded by revision (a view older
 * than the stored one is refused by the unique `_id` and dropped). A failed write keeps its views waiting for the next
 * flush unless a newer one came meanwhile; memory is bounded by `maxPending` (the oldest waiting view is dropped, with
 * a warning). A view may show a handling whose transaction was then aborted, until the redelivery's view replaces
 * it: it is a display, the budget's authority is the planner's state and budget log.
 */
export class TaskViewWriter implements TaskViewSink {
  private readonly views: Collection<TaskViewDoc>;
  private readonly pending = new Map<string, TaskViewDoc>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    db: Db,
    private readonly options: TaskViewWriterOptions,
  ) {
    this.views = db.collection<TaskViewDoc>(TASK_VIEWS_COLLECTION);
  }

  put(view: TaskViewDoc): void {
    this.pending.delete(view._id);
    if (this.pending.size >= this.options.maxPending) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      if (this.dropped++ % 1_000 === 0)
        this.options.logger.warn(
          { dropped: this.dropped, maxPending: this.options.maxPending },
          'task views waiting to be written exceed PLANNER_TASK_VIEW_MAX_PENDING: the oldest dropped',
        );
    }
    this.pending.set(view._id, view);
  }

  /** Starts writing every flushMs. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** How many views wait to be written. */
  waiting(): number {
    return this.pending.size;
  }

  /** Writes what waits now (one flush at a time: a flush asked during another waits for it, then runs). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Stops the timer and writes what waits (a failure is logged: views are a display). */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = [...this.pending.values()].slice(0, MAX_VIEWS_PER_WRITE);
    for (const v of batch) this.pending.delete(v._id);
    const ops: AnyBulkWriteOperation<TaskViewDoc>[] = batch.map(({ _id, ...fields }) => ({
      updateOne: { filter: { _id, revision: { $lte: fields.revision } }, update: { $set: fields }, upsert: true },
    }));
    try {
      await this.views.bulkWrite(ops, { ordered: false });
    } catch (error) {
      const failed = failedIndexes(error);
      if (failed === undefined) {
        this.requeue(batch);
        this.options.logger.warn({ err: error, views: batch.length }, 'task views not written: tried again later');
        return;
      }
      const retry = batch.filter((_, i) => failed.has(i));
      if (retry.length > 0) {
        this.requeue(retry);
        this.options.logger.warn({ views: retry.length }, 'some task views not written: tried again later');
      }
    }
  }

  /** Puts views back to wait, unless a newer view of their task came meanwhile. */
  private requeue(views: readonly TaskViewDoc[]): void {
    for (const v of views) if (!this.pending.has(v._id)) this.put(v);
  }
}

/**
 * The indexes of a bulkWrite's operations that failed for a reason worth another try; a stale view (a duplicate key:
 * a newer revision is stored) is not one. Undefined when the error is not a bulk write's (the whole write failed).
 */
function failedIndexes(error: unknown): Set<number> | undefined {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  if (writeErrors === undefined) return undefined;
  const list = (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as Array<{ index: number; code?: number }>;
  return new Set(list.filter((e) => e.code !== MONGO_DUPLICATE_KEY_CODE).map((e) => e.index));
}
