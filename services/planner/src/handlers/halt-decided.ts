import { authenticateHaltDecision, checkHaltBinding, type EventOf } from '@warden/contracts';
import { evolve } from '../decide/state.js';
import type { TaskState } from '../decide/types.js';
import { cancel, resume } from '../planning.js';
import { endedTask, runningTask } from '../task-state.js';
import { keepTask, type HandlerDeps, type PlannerContext } from './outcome.js';

type HaltDecision = EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>;

/**
 * Whether an admin's halt decision counts: signed by a trusted decision key (fail closed, as people's decisions),
 * of the task's tenant, and answering exactly the halt the task is in (its TaskHalted event, escalation and reason,
 * a resumable reason, the admin role, unexpired). A refused one raises a critical alert and changes nothing.
 */
async function accepted(
  deps: HandlerDeps,
  state: Pick<TaskState, 'tenantId' | 'status' | 'halt'>,
  event: HaltDecision,
  ctx: PlannerContext,
) {
  const d = event.data;
  const signed = authenticateHaltDecision(event.type, event.taskId, event.tenantId, d, deps.decisionTrust);
  let reason: string;
  let message: string;
  if (!signed.ok) {
    reason = 'decision_unauthenticated';
    message = `not signed with a trusted decision key (${signed.reason})`;
  } else if (event.tenantId !== state.tenantId) {
    reason = 'tenant_mismatch';
    message = `the decision is of tenant ${event.tenantId}, the task of ${state.tenantId}`;
  } else {
    const bound = checkHaltBinding(d, state.status === 'halted' ? state.halt : undefined, deps.now());
    if (bound.ok) return true;
    reason = bound.reason;
    message = bound.message;
  }
  ctx.logger.warn(
    { escalationId: d.escalationId, haltEventId: d.haltEventId, reason },
    `${event.type} refused: ${message}`,
  );
  await ctx.publish('AlertRaised', {
    alertId: `${event.id}:refused`,
    code: 'policy_warn',
    severity: 'critical',
    message: `planner refused ${event.type} of halt ${d.haltEventId} (${reason}): ${message}`.slice(0, 4000),
    subject: { taskId: event.taskId, escalationId: d.escalationId, reason, decision: event.id },
  });
  return false;
}

/**
 * TaskResumed or TaskCancelled, an admin's answer to a task halted by a breaker, a budget or a loop: once checked,
 * a resume moves the task on from where it stopped (never re-running what it did), a cancel ends it as failed.
 */
export function haltDecided(deps: HandlerDeps) {
  return async (event: HaltDecision, ctx: PlannerContext): Promise<void> => {
    const record = ctx.state.get();
    const ended = endedTask(record);
    if (ended !== undefined) {
      // A decision on a task that has ended is refused as for any task not halted (an alert, nothing changes).
      await accepted(deps, { tenantId: ended.tenantId, status: ended.status }, event, ctx);
      return;
    }
    const held = runningTask(record);
    if (held === undefined) {
      ctx.logger.warn('halt decision for a task this planner has no state for: skipped');
      return;
    }
    if (held.applied.includes(event.id)) return;
    if (!(await accepted(deps, held, event, ctx))) return;
    const by = event.data.decidedBy.id;
    let state = evolve(held, event, { tokens: deps.tokens, window: deps.window });
    state =
      event.type === 'TaskResumed'
        ? await resume(state, event.data.haltReasonCode, by, deps, ctx)
        : await cancel(state, by, deps, ctx.publish.bind(ctx));
    keepTask(deps, ctx, state);
  };
}
