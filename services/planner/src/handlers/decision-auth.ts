import { checkDecisionSignature, type EventOf } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { HandlerDeps } from './outcome.js';

/**
 * A person's decision counts only if it is signed with a configured approval key (when keys are configured):
 * otherwise anyone able to write to the verdicts topic could approve an answer or deny an action. An unsigned or
 * badly signed decision is ignored with a warning; the task keeps waiting for a real one.
 */
export function authentic(
  deps: Pick<HandlerDeps, 'approvalKeys'>,
  event: EventOf<'HumanApproved'> | EventOf<'HumanDenied'>,
  ctx: HandlerContext,
): boolean {
  const keys = deps.approvalKeys;
  if (keys === undefined || keys.size === 0) return true;
  const check = checkDecisionSignature(event.type, event.taskId, event.tenantId, event.data, keys);
  if (!check.ok) {
    ctx.logger.warn(
      { escalationId: event.data.escalationId, actionId: event.data.actionId, reason: check.reason },
      `${event.type} ignored: not signed with a configured approval key`,
    );
  }
  return check.ok;
}
