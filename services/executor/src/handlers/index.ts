import { authenticateHaltDecision, heldEscalationOf, type EventOf } from '@warden/contracts';
import { TaskConflictError, type Handlers } from '@warden/runtime';
import { approvalOf } from '../approval.js';
import { executeApproval, type ExecutorHandlerDeps } from './execute.js';

/**
 * The event types the executor consumes, the tasks' definitions first. The order is the subscription's, which kafkajs
 * keeps in each fetch: the batches of the tasks topic are queued for the handlers before the verdicts', so an
 * approval fetched with its task's TaskSubmitted does not wait for it behind other approvals (with fewer handler
 * slots than partitions, it would otherwise wait out EXECUTOR_TASK_WAIT_MS and be refused as task_unknown).
 */
export const executorConsumes = [
  'TaskSubmitted',
  'ActionApproved',
  'HumanApproved',
  'EscalationRequested',
  'TaskCompleted',
  'TaskFailed',
  'TaskHalted',
  'TaskResumed',
] as const;
type Consumed = (typeof executorConsumes)[number];

/**
 * The executor's handlers: both kinds of approval go through the same checks, ledger and breakers; escalations are
 * recorded so that a person's approval can be checked against exactly the escalation it answers; tasks are recorded
 * from their TaskSubmitted until their end, so that an approval runs only for a running task within its scope.
 */
export function createHandlers(deps: ExecutorHandlerDeps): Handlers<Consumed> {
  const ended = async (event: EventOf<'TaskCompleted' | 'TaskFailed' | 'TaskHalted'>): Promise<void> => {
    await deps.tasks.end(event.taskId, event.tenantId, event.seq);
  };
  return {
    ActionApproved: (event, ctx) => executeApproval(deps, approvalOf(event), ctx),
    HumanApproved: (event, ctx) => executeApproval(deps, approvalOf(event), ctx),
    EscalationRequested: (event) => deps.escalations.record(heldEscalationOf(event.taskId, event.data)),
    TaskSubmitted: async (event) => {
      const { defined, definedBy } = await deps.tasks.record(event.taskId, event.tenantId, event.data, event.id);
      if (defined) return;
      // A task's definition never changes: another TaskSubmitted for its id is refused (DLQ with the reason).
      throw new TaskConflictError(
        `task ${event.taskId} is already defined (by event ${definedBy ?? 'unknown'}); TaskSubmitted ${event.id} of tenant ${event.tenantId} is refused`,
        { details: { taskId: event.taskId, eventId: event.id, tenantId: event.tenantId } },
      );
    },
    TaskCompleted: ended,
    TaskFailed: ended,
    TaskHalted: ended,
    // An admin's resume of a halted task (ADR 0023) reopens it, only when signed by a trusted key (the planner, which
    // acts on it, raises the alert for a forged one); nothing else here depends on it.
    TaskResumed: async (event, ctx) => {
      const auth = authenticateHaltDecision(event.type, event.taskId, event.tenantId, event.data, deps.decisionTrust);
      if (!auth.ok) {
        ctx.logger.warn(
          { taskId: event.taskId, reason: auth.reason },
          'TaskResumed not authenticated: task stays ended',
        );
        return;
      }
      await deps.tasks.reopen(event.taskId, event.tenantId, event.seq);
    },
  };
}
