import { verifyDecision, verifyHaltDecision, type EventOf, type VerifyingKey } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';

type ReadBack = EventOf<'HumanApproved'> | EventOf<'HumanDenied'> | EventOf<'TaskResumed'> | EventOf<'TaskCancelled'>;

/**
 * Whether a decision read back from the log was signed by this service (its key, or a key it trusts for earlier
 * ones). Anyone able to write to the verdicts topic could otherwise mark an escalation decided in the projection
 * and block the real decision: a decision that does not verify is left out, with a warning.
 */
export function signedByUs(event: ReadBack, keys: ReadonlyMap<string, VerifyingKey>, ctx: HandlerContext): boolean {
  const check =
    event.type === 'HumanApproved' || event.type === 'HumanDenied'
      ? verifyDecision(event.type, event.taskId, event.tenantId, event.data, keys)
      : verifyHaltDecision(event.type, event.taskId, event.tenantId, event.data, keys);
  if (check.ok) return true;
  ctx.logger.warn(
    { reason: check.reason, escalationId: event.data.escalationId },
    `${event.type} not signed by this service: left out of the projection`,
  );
  return false;
}
