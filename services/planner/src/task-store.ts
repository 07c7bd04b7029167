import type { EventType } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';
import type { TaskState } from './decide/types.js';
import { StateConflictError } from './errors.js';

/** One event a handling published: enough to publish it again. */
export interface RecordedOutput {
  readonly type: EventType;
  readonly data: unknown;
  readonly policyVersion?: string;
}

/**
 * The last handling of a task: the consumed event, where it was read, and what it published. Saved with the state,
 * so that the same record read again after a crash (its Kafka transaction aborted, the state already saved) gets
 * the same outputs again instead of none.
 */
export interface LastHandling {
  readonly eventId: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  /** JSON of RecordedOutput[] (a string: event data may hold keys a MongoDB document may not, like "$gt"). */
  readonly outputsJson: string;
}

interface TaskDoc {
  _id: string;
  version: number;
  state: TaskState;
  handled?: LastHandling;
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
  async load(taskId: string): Promise<{ state: TaskState; version: number; handled?: LastHandling } | null> {
    const doc = await this.tasks.findOne({ _id: taskId });
    if (doc === null) return null;
    return { state: doc.state, version: doc.version, ...(doc.handled === undefined ? {} : { handled: doc.handled }) };
  }

  /** Saves the state and the handling that made it, if nobody saved another version since `version` (0: new). */
  async save(state: TaskState, version: number, handled: LastHandling): Promise<void> {
    if (version === 0) {
      try {
        await this.tasks.insertOne({ _id: state.taskId, version: 1, state, handled });
        return;
      } catch (error) {
        throw new StateConflictError(`task ${state.taskId} was created concurrently`, { cause: error });
      }
    }
    const r = await this.tasks.updateOne(
      { _id: state.taskId, version },
      { $set: { state, version: version + 1, handled } },
    );
    if (r.matchedCount === 0) throw new StateConflictError(`task ${state.taskId} changed since version ${version}`);
  }
}
