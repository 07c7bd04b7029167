import { authenticateDecision, checkDecisionBinding, type DecisionTrust, type EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { TaskState } from '../decide/types.js';

/**
 * A person's decision counts only if it is signed by a trusted key (fail closed: without keys none counts, unless
 * the insecure development setting is on) and answers exactly an escalation of the task the planner holds (same
 * action, args hash, policy version, unexpired). Otherwise anyone able to write to the verdicts topic could approve
 * an answer or deny an action. A refused decision raises a critical alert; the task keeps waiting for a real one.
 */
export async function acceptedDecision(
  trust: DecisionTrust,
  state: TaskState,
  event: EventOf<'HumanApproved'> | EventOf<'HumanDenied'>,
  now: Date,
  ctx: HandlerContext,
): Promise<boolean> {
  const d = event.data;
  const signed = authenticateDecision(event.type, event.taskId, event.tenantId, d, trust);
  let reason: string;
  let message: string;
  if (!signed.ok) {
    reason = 'decision_unauthenticated';
    message = `not signed with a trusted decision key (${signed.reason})`;
  } else {
    const held = state.escalations?.find((e) => e.escalationId === d.escalationId);
    const bound = checkDecisionBinding(event.taskId, d, held, now);
    if (bound.ok) return true;
    reason = bound.reason;
    message = bound.message;
  }
  ctx.logger.warn({ escalationId: d.escalationId, actionId: d.actionId, reason }, `${event.type} refused: ${message}`);
  await ctx.publish('AlertRaised', {
    alertId: `${event.id}:refused`,
    code: 'policy_warn',
    severity: 'critical',
    message: `planner refused ${event.type} of ${d.actionId} (${reason}): ${message}`.slice(0, 4000),
    subject: { taskId: event.taskId, actionId: d.actionId, escalationId: d.escalationId, reason, decision: event.id },
  });
  return false;
}
