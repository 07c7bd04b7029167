import type { Collection, Db } from 'mongodb';
import type { TaskState } from './decide/types.js';
import { StateConflictError } from './errors.js';

interface TaskDoc {
  _id: string;
  version: number;
  state: TaskState;
}

/**
 * The planner's per-task state in MongoDB: a cache of the projection evolve() builds from the task's events, saved
 * with an optimistic version so that two handlings of one task (a rebalance overlap) cannot both write.
 */
export class TaskStore {
  private readonly tasks: Collection<TaskDoc>;

  constructor(db: Db) {
    this.tasks = db.collection<TaskDoc>('planner_tasks');
  }

  /** The state of a task and its version; null when the planner never saw the task. */
  async load(taskId: string): Promise<{ state: TaskState; version: number } | null> {
    const doc = await this.tasks.findOne({ _id: taskId });
    return doc === null ? null : { state: doc.state, version: doc.version };
  }

  /** Saves the state if nobody saved another version since `version` (0 for a new task). */
  async save(state: TaskState, version: number): Promise<void> {
    if (version === 0) {
      try {
        await this.tasks.insertOne({ _id: state.taskId, version: 1, state });
        return;
      } catch (error) {
        throw new StateConflictError(`task ${state.taskId} was created concurrently`, { cause: error });
      }
    }
    const r = await this.tasks.updateOne({ _id: state.taskId, version }, { $set: { state, version: version + 1 } });
    if (r.matchedCount === 0) throw new StateConflictError(`task ${state.taskId} changed since version ${version}`);
  }
}
