import { authenticateHaltDecision, checkHaltBinding, type EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import { evolve } from '../decide/state.js';
import type { TaskState } from '../decide/types.js';
import { cancel, resume } from '../planning.js';
import type { HandlerDeps } from './outcome.js';
import { handlingOf, recording, replayIfRedelivered } from './replay.js';

type HaltDecision = EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>;

/**
 * Whether an admin's halt decision counts: signed by a trusted decision key (fail closed, as people's decisions),
 * of the task's tenant, and answering exactly the halt the task is in (its TaskHalted event, escalation and reason,
 * a resumable reason, the admin role, unexpired). A refused one raises a critical alert and changes nothing.
 */
async function accepted(deps: HandlerDeps, state: TaskState, event: HaltDecision, ctx: HandlerContext) {
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
  return async (event: HaltDecision, ctx: HandlerContext): Promise<void> => {
    const loaded = await deps.store.load(event.taskId);
    if (loaded === null) {
      ctx.logger.warn('halt decision for a task this planner has no state for: skipped');
      return;
    }
    if (loaded.state.applied.includes(event.id)) {
      await replayIfRedelivered(loaded.handled, event, ctx);
      return;
    }
    if (!(await accepted(deps, loaded.state, event, ctx))) return;
    const rec = recording(ctx);
    const by = event.data.decidedBy.id;
    let state = evolve(loaded.state, event, { tokens: deps.tokens, window: deps.window });
    state =
      event.type === 'TaskResumed'
        ? await resume(state, event.data.haltReasonCode, by, deps, rec.ctx)
        : await cancel(state, by, deps, rec.ctx.publish.bind(rec.ctx));
    await deps.store.save(state, loaded.version, handlingOf(event, ctx, rec.outputs));
  };
}
