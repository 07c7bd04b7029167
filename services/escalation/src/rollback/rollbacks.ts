/**
 * Rollbacks for an admin (ADR 0026): the escalation service reads the task's log from the topics, plans the
 * compensations of its succeeded effects with the tools' declarations, and, unless it is a dry run, publishes the
 * plan as a new task linked to the first. The planner, the guard and the executor then run it like any task.
 */
import { newTask, type SubjectKeyStore, type WardenEvent } from '@warden/contracts';
import { readTopics, type Publisher, type RuntimeDeps, type TopicKind } from '@warden/runtime';
import {
  RollbackPlanningError,
  demoTools,
  keptErasedIn,
  planRollback,
  planSealedRollback,
  rollbackTask,
  type RollbackPlan,
  type ToolDefinitionRegistry,
} from '@warden/tools';
import type { Principal } from '../auth.js';

/** The topics a rollback plan is read from: the task, its proposals, verdicts, results and end. */
const PLAN_TOPICS: readonly TopicKind[] = ['tasks', 'proposals', 'verdicts', 'results', 'outcomes'];

/** What an admin asks for. */
export interface RollbackRequest {
  readonly fromStep: number;
  readonly dryRun: boolean;
  readonly requireApproval: boolean;
}

/** What happened: the plan, and the rollback task submitted (null for a dry run or when nothing is left to undo). */
export interface RollbackResult {
  readonly plan: RollbackPlan;
  readonly submitted: string | null;
}

/** What the rollbacks need. */
export interface RollbacksDeps {
  readonly runtime: Pick<RuntimeDeps, 'kafka' | 'codec' | 'topics' | 'db'>;
  readonly publisher: () => Publisher;
  readonly tools?: ToolDefinitionRegistry<unknown, unknown>;
  /** Opens the log's sealed personal data for planning (ADR 0026); absent: planned from the log as it is. */
  readonly subjectKeys?: SubjectKeyStore;
}

/** Plans and submits rollbacks of tasks, for an admin of their tenant. */
export class Rollbacks {
  constructor(private readonly deps: RollbacksDeps) {}

  /**
   * Plans (and unless a dry run, submits) the rollback of `taskId` for `principal`; null when the task is not in the
   * log or not of one of the principal's tenants (indistinguishable, as elsewhere in the API).
   */
  async rollback(taskId: string, request: RollbackRequest, principal: Principal): Promise<RollbackResult | null> {
    const events = await this.logOf(taskId);
    let plan: RollbackPlan;
    try {
      plan =
        this.deps.subjectKeys === undefined
          ? planRollback(this.deps.tools ?? demoTools, events, taskId, request.fromStep)
          : await planSealedRollback(
              this.deps.tools ?? demoTools,
              events,
              taskId,
              request.fromStep,
              this.deps.subjectKeys,
              keptErasedIn(this.deps.runtime.db, this.deps.subjectKeys),
            );
    } catch (error) {
      if (error instanceof RollbackPlanningError) return null;
      throw error;
    }
    if (!principal.tenants.includes(plan.tenantId)) return null;
    if (request.dryRun || plan.steps.length === 0) return { plan, submitted: null };
    const data = rollbackTask(plan, {
      requester: { id: principal.subject, kind: 'user', role: 'admin' },
      requireApproval: request.requireApproval,
    });
    await this.deps
      .publisher()
      .publish(newTask(data, { tenantId: plan.tenantId, taskId: plan.rollbackTaskId, producer: 'escalation' }));
    return { plan, submitted: plan.rollbackTaskId };
  }

  /** The events of the task and of rollback tasks (whose ids say so), read from the topics to their end. */
  private async logOf(taskId: string): Promise<WardenEvent[]> {
    const { kafka, topics } = this.deps.runtime;
    const admin = kafka.admin();
    let present: Set<string>;
    try {
      await admin.connect();
      present = new Set(await admin.listTopics());
    } finally {
      await admin.disconnect();
    }
    const events: WardenEvent[] = [];
    await readTopics(
      this.deps.runtime,
      PLAN_TOPICS.map((k) => topics.of(k)).filter((t) => present.has(t)),
      {
        follow: false,
        // Under the service's own groups: its Kafka principal may use no other (ADR 0019).
        groupPrefix: `${topics.prefix}.escalation.log-`,
        onMessage: (m) => {
          const e = m.decoded?.event;
          if (e !== undefined && (e.taskId === taskId || e.taskId.includes('.rollback-'))) events.push(e);
        },
      },
    );
    return events;
  }
}
