import { deepFreeze, type EventData, type Impact } from '@warden/contracts';
import { evolve, initialTaskView, type ApprovedAction, type TaskView, type ToolResultRecord } from '@warden/policy';
import { TaskConflictError } from '@warden/runtime';
import type { Collection, Db } from 'mongodb';

interface TaskDoc {
  _id: string;
  tenantId: string;
  task?: EventData<'TaskSubmitted'>;
  /** The id of the TaskSubmitted that defined the task (absent in records written before it was kept). */
  submittedEventId?: string;
  /** The TaskSubmitted's occurredAt: the start of the task's wall-time budget (absent in older records). */
  submittedAt?: string;
  /** Absent until the first record of each kind ($setOnInsert is not relied upon). */
  results?: ToolResultRecord[];
  approved?: ApprovedAction[];
}

/**
 * The guard's own records of each task, in MongoDB: the TaskSubmitted data (the only source of scope and limits),
 * the task's validated tool results and the impact of what the guard approved. Every write is idempotent ($addToSet
 * of whole records, $set of the task), so a redelivered event changes nothing. The view decide() is judged on is
 * folded from these records by evolve() from @warden/policy, the same fold the auditor's backtest runs over the log.
 */
export class GuardTaskStore {
  private readonly tasks: Collection<TaskDoc>;
  /**
   * Each task's view as folded so far, with how many of its recorded results and approvals it holds. Records are
   * only ever appended ($addToSet), so a read folds only the new ones; the task data and tool results are frozen
   * and reused by identity across proposals, so decide()'s canonical hash of them is computed once, not per proposal.
   */
  private readonly views = new Map<
    string,
    { view: TaskView; results: number; approved: number; submittedAtMs: number | undefined }
  >();
  private static readonly MAX_CACHED_TASKS = 10_000;

  constructor(db: Db) {
    this.tasks = db.collection<TaskDoc>('guard_tasks');
  }

  /**
   * Records the submitted task, once: the same TaskSubmitted again changes nothing, and another one for a task
   * already defined is refused with a TaskConflictError (a task's scope, limits and tenant never change).
   */
  async recordTask(
    taskId: string,
    tenantId: string,
    task: EventData<'TaskSubmitted'>,
    eventId: string,
    submittedAt: string,
  ): Promise<void> {
    const existing = await this.tasks.findOne(
      { _id: taskId },
      { projection: { tenantId: 1, task: 1, submittedEventId: 1 } },
    );
    if (existing?.task !== undefined) {
      if (existing.submittedEventId === eventId || existing.submittedEventId === undefined) return;
      throw new TaskConflictError(
        `task ${taskId} is already defined (by event ${existing.submittedEventId}, tenant ${existing.tenantId}); TaskSubmitted ${eventId} of tenant ${tenantId} is refused`,
        { details: { taskId, eventId, tenantId } },
      );
    }
    await this.tasks.updateOne(
      { _id: taskId },
      { $set: { tenantId, task, submittedEventId: eventId, submittedAt } },
      { upsert: true },
    );
  }

  /** Records a tool result that passed validateToolOutput (the facts it confirms are derived by evolve). */
  async recordResult(taskId: string, record: ToolResultRecord): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $addToSet: { results: record } }, { upsert: true });
  }

  /** Records an approval's impact (once per action). */
  async recordApproval(taskId: string, actionId: string, impact: Impact): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $addToSet: { approved: { actionId, impact } } }, { upsert: true });
  }

  /** The task's view: its records folded with evolve (only the records not folded before). */
  async viewOf(taskId: string): Promise<TaskView> {
    const doc = await this.tasks.findOne({ _id: taskId });
    if (doc?.task === undefined) return initialTaskView(taskId);
    let cached = this.views.get(taskId);
    if (cached === undefined) {
      if (this.views.size >= GuardTaskStore.MAX_CACHED_TASKS) this.views.delete(this.views.keys().next().value!);
      const submitted = { type: 'TaskSubmitted', tenantId: doc.tenantId, data: deepFreeze(doc.task) } as const;
      const submittedAtMs = doc.submittedAt === undefined ? undefined : Date.parse(doc.submittedAt);
      cached = { view: evolve(initialTaskView(taskId), submitted), results: 0, approved: 0, submittedAtMs };
      this.views.set(taskId, cached);
    }
    const results = doc.results ?? [];
    const approved = doc.approved ?? [];
    for (const r of results.slice(cached.results)) {
      cached.view = evolve(cached.view, { type: 'ToolSucceeded', data: deepFreeze(r) });
    }
    for (const a of approved.slice(cached.approved))
      cached.view = evolve(cached.view, { type: 'ActionApproved', data: a });
    cached.results = Math.max(cached.results, results.length);
    cached.approved = Math.max(cached.approved, approved.length);
    return cached.view;
  }

  /**
   * The end of the task's wall-time budget in ms (its TaskSubmitted's occurredAt plus budgets.maxWallTimeMs), as
   * of the last viewOf; undefined for a task not viewed yet or recorded before the submission time was kept.
   */
  deadlineOf(taskId: string): number | undefined {
    const cached = this.views.get(taskId);
    const task = cached?.view.task;
    if (cached?.submittedAtMs === undefined || task === undefined) return undefined;
    return cached.submittedAtMs + task.budgets.maxWallTimeMs;
  }
}
