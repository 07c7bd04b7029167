import type { EventData, Impact } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';
import { deepFreeze, type GuardState, type RetrievalFact, type ToolResultRecord } from '@warden/policy';

interface TaskDoc {
  _id: string;
  tenantId: string;
  task?: EventData<'TaskSubmitted'>;
  /** Absent until the first record of each kind ($setOnInsert is not relied upon). */
  results?: ToolResultRecord[];
  facts?: RetrievalFact[];
  approved?: Array<{ actionId: string; impact: Impact }>;
}

const ZERO: Impact = { rows: 0, files: 0, recipients: 0, moneyUsd: 0 };

/**
 * The guard's own view of each task, in MongoDB, built from the task's events: the TaskSubmitted data (the only
 * source of scope and limits), earlier tool results and retrieved facts (for grounding), and the impact of what
 * the guard approved. Every write is idempotent ($addToSet of whole records, $set of the task), so a redelivered
 * event changes nothing.
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

  /** Records a validated tool result, and the facts a retrieval result confirms. */
  async recordResult(taskId: string, record: ToolResultRecord, facts: readonly RetrievalFact[]): Promise<void> {
    await this.tasks.updateOne(
      { _id: taskId },
      {
        $addToSet: { results: record, facts: { $each: [...facts] } },
      },
      { upsert: true },
    );
  }

  /** Records an approval's impact (once per action). */
  async recordApproval(taskId: string, actionId: string, impact: Impact): Promise<void> {
    await this.tasks.updateOne({ _id: taskId }, { $addToSet: { approved: { actionId, impact } } }, { upsert: true });
  }

  /** The state decide() needs, frozen (so the canonical hash of unchanged parts is computed once); undefined when the task is unknown. */
  async stateFor(taskId: string, impact: Impact | null): Promise<GuardState | undefined> {
    const doc = await this.tasks.findOne({ _id: taskId });
    if (doc?.task === undefined) return undefined;
    const approvedImpact = (doc.approved ?? []).reduce<Impact>(
      (sum, a) => ({
        rows: sum.rows + a.impact.rows,
        files: sum.files + a.impact.files,
        recipients: sum.recipients + a.impact.recipients,
        moneyUsd: sum.moneyUsd + a.impact.moneyUsd,
      }),
      ZERO,
    );
    let cached = this.frozen.get(taskId);
    if (cached === undefined) {
      if (this.frozen.size >= GuardTaskStore.MAX_CACHED_TASKS) this.frozen.delete(this.frozen.keys().next().value!);
      cached = { task: deepFreeze(doc.task), results: new Map() };
      this.frozen.set(taskId, cached);
    }
    const results = (doc.results ?? []).map((r) => {
      const known = cached.results.get(r.actionId);
      if (known !== undefined) return known;
      const fresh = deepFreeze(r);
      cached.results.set(r.actionId, fresh);
      return fresh;
    });
    return deepFreeze({
      taskId,
      tenantId: doc.tenantId,
      task: cached.task as EventData<'TaskSubmitted'>,
      approvedImpact,
      toolResults: results,
      facts: doc.facts ?? [],
      impact,
    });
  }
}
