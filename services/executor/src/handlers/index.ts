import { heldEscalationOf } from '@warden/contracts';
import type { Handlers } from '@warden/runtime';
import { approvalOf } from '../approval.js';
import { executeApproval, type ExecutorHandlerDeps } from './execute.js';

/** The event types the executor consumes. */
export const executorConsumes = ['ActionApproved', 'HumanApproved', 'EscalationRequested'] as const;
type Consumed = (typeof executorConsumes)[number];

/**
 * The executor's handlers: both kinds of approval go through the same ledger, breakers and checks; escalations are
 * recorded so that a person's approval can be checked against exactly the escalation it answers.
 */
export function createHandlers(deps: ExecutorHandlerDeps): Handlers<Consumed> {
  return {
    ActionApproved: (event, ctx) => executeApproval(deps, approvalOf(event), ctx),
    HumanApproved: (event, ctx) => executeApproval(deps, approvalOf(event), ctx),
    EscalationRequested: (event) => deps.escalations.record(heldEscalationOf(event.taskId, event.data)),
  };
}
