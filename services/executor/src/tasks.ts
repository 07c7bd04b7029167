import type { EventData, Scope } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';

/** How many recently ended task ids an executor remembers in memory (older ones are looked up in MongoDB). */
export const ENDED_WINDOW_TASKS = 100_000;

/** A task as the executor holds it: whose it is, what it may touch, and whether it has ended. */
export interface HeldTask {
  readonly taskId: string;
  readonly tenantId: string;
  /** The scope of its TaskSubmitted; absent when only its end was seen. */
  readonly scope?: Scope;
  readonly ended: boolean;
}

interface TaskDoc {
  _id: string;
  tenantId?: string;
  scope?: Scope;
  /** The TaskSubmitted that defined it: a task is defined once, the first definition stands. */
  submittedEventId?: string;
  ended: boolean;
  /**
   * The seq of the last event that ended or reopened it (a TaskHalted, then an admin's TaskResumed): they travel on
   * different topics, so the later in the task's chain stands whichever is handled first.
   */
  stateSeq?: number;
}

/**
 * The executor's own record of the tasks it serves (ADR 0018), learnt from TaskSubmitted and the task's end
 * (TaskCompleted, TaskFailed, TaskHalted), so that an approval runs only for a task that exists, is running, belongs
 * to the approval's tenant and has the tool and resources in its scope. The running tasks live in memory, where an
 * approval looks them up; MongoDB keeps one document per task (written once when it is submitted and once when it
 * ends), read in full at start and by key only when a task is not in memory (another replica consumed its
 * TaskSubmitted, or it has ended). The per-event path thus stays off FerretDB.
 */
export class TaskBook {
  private readonly docs: Collection<TaskDoc>;
  private readonly running = new Map<string, HeldTask>();
  /**
   * Tasks seen ending, most recent last: a TaskSubmitted handled after its task's end (they travel on different
   * topics, handled concurrently) must not put the task back among the running ones.
   */
  private readonly ended = new Set<string>();

  constructor(
    db: Db,
    collection = 'executor_tasks',
    private readonly endedWindow = ENDED_WINDOW_TASKS,
  ) {
    this.docs = db.collection<TaskDoc>(collection);
  }

  /** Loads the running tasks into memory (at start). */
  async restore(): Promise<number> {
    for await (const doc of this.docs.find({ ended: false })) {
      const held = heldOf(doc);
      if (held !== undefined) this.running.set(held.taskId, held);
    }
    return this.running.size;
  }

  /**
   * Records a task from its TaskSubmitted. The first definition stands: a second TaskSubmitted of the same id
   * changes nothing (returned `defined: false`, with the event that defined it). Idempotent.
   */
  async record(
    taskId: string,
    tenantId: string,
    data: Pick<EventData<'TaskSubmitted'>, 'scope'>,
    eventId: string,
  ): Promise<{
    readonly defined: boolean;
    readonly definedBy: string | undefined;
    readonly task: HeldTask | undefined;
  }> {
    let doc = await this.docs.findOneAndUpdate(
      { _id: taskId },
      { $setOnInsert: { tenantId, scope: data.scope, submittedEventId: eventId, ended: false } },
      { upsert: true, returnDocument: 'after' },
    );
    if (doc !== null && doc.submittedEventId === undefined) {
      // Its end was recorded first: keep the end, add the definition.
      doc = await this.docs.findOneAndUpdate(
        { _id: taskId, submittedEventId: { $exists: false } },
        { $set: { tenantId, scope: data.scope, submittedEventId: eventId } },
        { returnDocument: 'after' },
      );
      doc ??= await this.docs.findOne({ _id: taskId });
    }
    const held = doc === null ? undefined : heldOf(doc);
    if (held !== undefined && !held.ended && !this.ended.has(taskId)) this.running.set(taskId, held);
    return { defined: doc?.submittedEventId === eventId, definedBy: doc?.submittedEventId, task: held };
  }

  /** Marks a task ended (its TaskCompleted, TaskFailed or TaskHalted): no approval of it runs any more. */
  async end(taskId: string, tenantId: string, seq: number): Promise<void> {
    const doc = await this.docs.findOne({ _id: taskId }, { projection: { stateSeq: 1 } });
    if (doc?.stateSeq !== undefined && doc.stateSeq > seq) return; // reopened by a later resume
    this.running.delete(taskId);
    this.ended.add(taskId);
    if (this.ended.size > this.endedWindow) this.ended.delete(this.ended.values().next().value!);
    await this.docs.updateOne(
      { _id: taskId },
      { $set: { ended: true, stateSeq: seq }, $setOnInsert: { tenantId } },
      { upsert: true },
    );
  }

  /**
   * Puts a halted task back among the running ones after an admin's authenticated TaskResumed (seq: its place in the
   * task's chain), unless an end later in the chain was already seen.
   */
  async reopen(taskId: string, tenantId: string, seq: number): Promise<void> {
    const doc = await this.docs.findOne({ _id: taskId });
    if (doc?.stateSeq !== undefined && doc.stateSeq > seq) return;
    await this.docs.updateOne(
      { _id: taskId },
      { $set: { ended: false, stateSeq: seq }, $setOnInsert: { tenantId } },
      { upsert: true },
    );
    this.ended.delete(taskId);
    const held = doc === null ? undefined : heldOf({ ...doc, ended: false });
    if (held?.scope !== undefined) this.running.set(taskId, held);
  }

  /** The task as the executor knows it: from memory when running, else from MongoDB (undefined: never seen). */
  async get(taskId: string): Promise<HeldTask | undefined> {
    const held = this.running.get(taskId);
    if (held !== undefined) return held;
    const doc = await this.docs.findOne({ _id: taskId });
    return doc === null ? undefined : heldOf(doc);
  }

  /** The task if it is running and in memory (no I/O). */
  peek(taskId: string): HeldTask | undefined {
    return this.running.get(taskId);
  }
}

function heldOf(doc: TaskDoc): HeldTask | undefined {
  if (doc.tenantId === undefined) return undefined;
  return {
    taskId: doc._id,
    tenantId: doc.tenantId,
    ended: doc.ended,
    ...(doc.scope === undefined ? {} : { scope: doc.scope }),
  };
}
