import { deepFreeze, type EventData, type Impact } from '@warden/contracts';
import { evolve, initialTaskView, type ApprovedAction, type TaskView, type ToolResultRecord } from '@warden/policy';
import type { Collection, Db } from 'mongodb';

interface TaskDoc {
  _id: string;
  tenantId: string;
  task?: EventData<'TaskSubmitted'>;
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
   * Frozen copies of what never changes once recorded (a task's submitted data, each tool result), reused across
   * proposals by identity, so decide()'s canonical hash of the state is computed once per part, not per proposal.
   */
  private readonly frozen = new Map<string, { task: unknown; results: Map<string, ToolResultRecord> }>();
  private static readonly MAX_CACHED_TASKS = 10_000;

  constructor(db: Db) {
    this.tasks = db.collection<TaskDoc>('guard_tasks');
  }

  /** Records the submitted task. */
  async recordTask(taskId: string, tenantId: string, task: EventData<'TaskSubmitted'>): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $set: { tenantId, task } }, { upsert: true });
  }

  /** Records a tool result that passed validateToolOutput (the facts it confirms are derived by evolve). */
  async recordResult(taskId: string, record: ToolResultRecord): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $addToSet: { results: record } }, { upsert: true });
  }

  /** Records an approval's impact (once per action). */
  async recordApproval(taskId: string, actionId: string, impact: Impact): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $addToSet: { approved: { actionId, impact } } }, { upsert: true });
  }

  /** The task's view: its records folded with evolve (the task data and tool results kept frozen across calls). */
  async viewOf(taskId: string): Promise<TaskView> {
    const doc = await this.tasks.findOne({ _id: taskId });
    let view = initialTaskView(taskId);
    if (doc?.task === undefined) return view;
    let cached = this.frozen.get(taskId);
    if (cached === undefined) {
      if (this.frozen.size >= GuardTaskStore.MAX_CACHED_TASKS) this.frozen.delete(this.frozen.keys().next().value!);
      cached = { task: deepFreeze(doc.task), results: new Map() };
      this.frozen.set(taskId, cached);
    }
    view = evolve(view, {
      type: 'TaskSubmitted',
      tenantId: doc.tenantId,
      data: cached.task as EventData<'TaskSubmitted'>,
    });
    for (const r of doc.results ?? []) {
      let record = cached.results.get(r.actionId);
      if (record === undefined) {
        record = deepFreeze(r);
        cached.results.set(r.actionId, record);
      }
      view = evolve(view, { type: 'ToolSucceeded', data: record });
    }
    for (const a of doc.approved ?? []) view = evolve(view, { type: 'ActionApproved', data: a });
    return view;
  }
}
