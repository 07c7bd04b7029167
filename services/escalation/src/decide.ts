import { ResumableHaltReasons, type EventData } from '@warden/contracts';
import type { Principal, Role } from './auth.js';
import { decidingRole } from './auth.js';
import type { EscalationDoc } from './store.js';

/** What a person asks: approve or deny, having seen these args (hash) under this policy version. */
export interface DecisionRequest {
  readonly kind: 'approve' | 'deny';
  /** The args hash the person saw; an approval requires it, and it must still be the escalation's. */
  readonly argsHash?: string | undefined;
  /** The policy version the person saw; an approval requires it, and it must still be the escalation's. */
  readonly policyVersion?: string | undefined;
  readonly comment?: string | undefined;
}

/** Why a decision request is refused: an HTTP status, a stable code and a sentence. */
export interface Refusal {
  readonly status: 401 | 403 | 404 | 409 | 410 | 422;
  readonly code: string;
  readonly message: string;
}

/**
 * Whether `principal` may decide `escalation` now as asked (pure): a deciding role (approver, admin), the
 * escalation in one of their tenants (else it is indistinguishable from an absent one: 404), still pending, not
 * expired, with something to decide, and, for an approval, bound to the args hash and policy version the person
 * saw. Returns the role the decision is made in, or the refusal.
 */
export function checkDecisionRequest(
  escalation: EscalationDoc | null,
  principal: Principal,
  request: DecisionRequest,
  now: Date,
): { readonly ok: true; readonly role: Role } | { readonly ok: false; readonly refusal: Refusal } {
  const refuse = (status: Refusal['status'], code: string, message: string) =>
    ({ ok: false, refusal: { status, code, message } }) as const;
  const role = decidingRole(principal);
  if (role === undefined) return refuse(403, 'forbidden', 'deciding needs the approver or admin role');
  if (escalation === null || !principal.tenants.includes(escalation.tenantId))
    return refuse(404, 'not_found', 'no such escalation');
  if (escalation.status === 'expired' || (escalation.status === 'pending' && escalation.expiresAt <= now))
    return refuse(410, 'expired', `the escalation expired at ${escalation.expiresAt.toISOString()}`);
  if (escalation.status !== 'pending') return refuse(409, 'already_decided', `the escalation is ${escalation.status}`);
  const held = escalation.held;
  if (held.actionId === null || held.argsHash === null)
    return refuse(409, 'nothing_to_decide', 'the escalation names no action or answer to approve or deny');
  if (request.kind === 'approve' && (request.argsHash === undefined || request.policyVersion === undefined))
    return refuse(422, 'unbound', 'an approval must name the argsHash and policyVersion the person saw');
  if (request.argsHash !== undefined && request.argsHash !== held.argsHash)
    return refuse(409, 'args_changed', `the escalation is bound to args ${held.argsHash}, not ${request.argsHash}`);
  if (request.policyVersion !== undefined && request.policyVersion !== held.policyVersion)
    return refuse(409, 'stale_policy', `the escalation is under policy ${held.policyVersion}`);
  return { ok: true, role };
}

/** What an admin asks of a halted task: resume it (with an optional grant of more budget) or cancel it. */
export interface HaltRequest {
  readonly kind: 'resume' | 'cancel';
  readonly comment?: string | undefined;
  readonly grant?: EventData<'TaskResumed'>['grant'];
}

/**
 * Whether `principal` may resume or cancel the task `escalation` asks about (pure): the admin role, the escalation
 * in one of their tenants (else 404), pending and unexpired, raised by a halt the service has recorded, and halted
 * by a breaker, a budget or a loop (not by an expiry or a mismatch, which a resume cannot mend).
 */
export function checkHaltRequest(
  escalation: EscalationDoc | null,
  principal: Principal,
  now: Date,
): { readonly ok: true } | { readonly ok: false; readonly refusal: Refusal } {
  const refuse = (status: Refusal['status'], code: string, message: string) =>
    ({ ok: false, refusal: { status, code, message } }) as const;
  if (!principal.roles.includes('admin'))
    return refuse(403, 'forbidden', 'resuming or cancelling a halted task needs the admin role');
  if (escalation === null || !principal.tenants.includes(escalation.tenantId))
    return refuse(404, 'not_found', 'no such escalation');
  if (escalation.status === 'expired' || (escalation.status === 'pending' && escalation.expiresAt <= now))
    return refuse(410, 'expired', `the escalation expired at ${escalation.expiresAt.toISOString()}`);
  if (escalation.status !== 'pending') return refuse(409, 'already_decided', `the escalation is ${escalation.status}`);
  if (escalation.halt === undefined)
    return refuse(409, 'not_halted', 'the escalation is not about a halted task (or its halt is not recorded yet)');
  if (!ResumableHaltReasons.has(escalation.halt.reasonCode))
    return refuse(
      409,
      'not_resumable',
      `a task halted for ${escalation.halt.reasonCode} cannot be resumed or cancelled`,
    );
  return { ok: true };
}
