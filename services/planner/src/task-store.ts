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
  /**
   * Each task's state as this process last saved or read it, so that the next event of the task needs no lookup
   * (FerretDB scans the collection on every one). A guess, checked by the save: if another replica saved since (a
   * rebalance), the versioned update matches nothing, the guess is forgotten and the event handled again from the
   * stored state.
   */
  private readonly cache = new Map<string, { state: TaskState; version: number; handled?: LastHandling }>();
  private static readonly MAX_CACHED_TASKS = 10_000;

  constructor(db: Db) {
    this.tasks = db.collection<TaskDoc>('planner_tasks');
  }

  /** The state of a task and its version; null when the planner never saw the task. */
  async load(taskId: string): Promise<{ state: TaskState; version: number; handled?: LastHandling } | null> {
    const cached = this.cache.get(taskId);
    if (cached !== undefined) return cached;
    const doc = await this.tasks.findOne({ _id: taskId });
    if (doc === null) return null;
    const loaded = {
      state: doc.state,
      version: doc.version,
      ...(doc.handled === undefined ? {} : { handled: doc.handled }),
    };
    this.remember(taskId, loaded);
    return loaded;
  }

  private remember(taskId: string, entry: { state: TaskState; version: number; handled?: LastHandling }): void {
    this.cache.delete(taskId);
    if (this.cache.size >= TaskStore.MAX_CACHED_TASKS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(taskId, entry);
  }

  /** Saves the state and the handling that made it, if nobody saved another version since `version` (0: new). */
  async save(state: TaskState, version: number, handled: LastHandling): Promise<void> {
    this.cache.delete(state.taskId); // until the save is known to have happened
    if (version === 0) {
      try {
        await this.tasks.insertOne({ _id: state.taskId, version: 1, state, handled });
      } catch (error) {
        throw new StateConflictError(`task ${state.taskId} was created concurrently`, { cause: error });
      }
      this.remember(state.taskId, { state, version: 1, handled });
      return;
    }
    const r = await this.tasks.updateOne(
      { _id: state.taskId, version },
      { $set: { state, version: version + 1, handled } },
    );
    if (r.matchedCount === 0) throw new StateConflictError(`task ${state.taskId} changed since version ${version}`);
    this.remember(state.taskId, { state, version: version + 1, handled });
  }
}
