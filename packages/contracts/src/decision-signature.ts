import { z } from 'zod';
import type { EventData } from './events.js';
import { signatureScheme, type Authentication, type SignatureTrust } from './event-signature.js';

/** A person's decision as its event carries it. */
export type DecisionType = 'HumanApproved' | 'HumanDenied';
type DecisionData = EventData<'HumanApproved'> | EventData<'HumanDenied'>;

/**
 * A decision's signature covers its type, task and tenant and every field of the decision except the signature and
 * the free-text comment (escalation, action, args hash, args, policy version, expiry, who decided in which role).
 */
const decisions = signatureScheme<DecisionType, DecisionData>(['comment']);

/** What a decision's signature covers (canonical JSON). */
export const decisionSigningPayload = decisions.payload;

/** Signs a decision with the deciding service's Ed25519 key: the `signature` field to put in its data. */
export const signDecision = decisions.sign;

/** Checks a decision's Ed25519 signature against the configured public keys. */
export const verifyDecision = decisions.verify;

/**
 * Authenticates a decision: with the insecure development setting anything passes (keyId null); without
 * verification keys nothing does (`no_keys`); otherwise its signature must verify under a configured key.
 */
export const authenticateDecision = decisions.authenticate;

/**
 * How a worker trusts people's decisions: the public keys of the services allowed to sign them, and the
 * development escape hatch. With no keys and no escape hatch every decision is refused (fail closed).
 */
export type DecisionTrust = SignatureTrust;

/** Whether a decision is authentic under a trust configuration. */
export type DecisionAuthentication = Authentication;

/** The escalation a decision must answer, as a worker holds it (see heldEscalationOf). */
export interface HeldEscalation {
  readonly escalationId: string;
  readonly taskId: string;
  /** The action or answer a person may approve; null when there is nothing to approve. */
  readonly actionId: string | null;
  /** What an approval must be bound to; null when the escalation names nothing to approve. */
  readonly argsHash: string | null;
  readonly policyVersion: string;
  readonly expiresAt: string;
  /** The end of the task's wall-time budget, when the escalation states it: nothing is dispatched after it. */
  readonly deadlineAt?: string;
}

/** A HeldEscalation as a worker keeps it in its keyed state, checked when the state is restored (ADR 0027). */
export const HeldEscalationSchema = z.object({
  escalationId: z.string(),
  taskId: z.string(),
  actionId: z.string().nullable(),
  argsHash: z.string().nullable(),
  policyVersion: z.string(),
  expiresAt: z.string(),
  deadlineAt: z.string().optional(),
}) as unknown as z.ZodType<HeldEscalation>;

/** The escalation an EscalationRequested of a task asks about, as a decision is checked against it. */
export function heldEscalationOf(taskId: string, data: EventData<'EscalationRequested'>): HeldEscalation {
  return {
    escalationId: data.escalationId,
    taskId,
    actionId: data.action?.actionId ?? data.answer?.actionId ?? data.verdict?.actionId ?? null,
    argsHash: data.action?.argsHash ?? data.answer?.argsHash ?? null,
    policyVersion: data.policyVersion,
    expiresAt: data.expiresAt,
    ...(data.action?.deadlineAt === undefined ? {} : { deadlineAt: data.action.deadlineAt }),
  };
}

/** Why a decision does not answer the escalation it names. */
export const DecisionBindingFailures = {
  escalationUnknown: 'escalation_unknown',
  taskMismatch: 'task_mismatch',
  actionMismatch: 'action_mismatch',
  argsMismatch: 'args_mismatch',
  policyMismatch: 'policy_mismatch',
  expired: 'decision_expired',
  outlivesEscalation: 'decision_outlives_escalation',
} as const;
/** Why a decision does not answer the escalation it names. */
export type DecisionBindingFailure = (typeof DecisionBindingFailures)[keyof typeof DecisionBindingFailures];

/** Whether a decision answers exactly the escalation a worker holds. */
export type DecisionBinding =
  { readonly ok: true } | { readonly ok: false; readonly reason: DecisionBindingFailure; readonly message: string };

/**
 * Checks a decision of task `taskId` against the escalation it names, as the worker holds it (undefined: the
 * worker never saw it): same task, action and args hash (an approval binds exactly those args), same policy
 * version (a decision under a stale policy is refused), not past its expiry, and not outliving the escalation.
 */
export function checkDecisionBinding(
  taskId: string,
  data: DecisionData,
  held: HeldEscalation | undefined,
  now: Date,
): DecisionBinding {
  const F = DecisionBindingFailures;
  const fail = (reason: DecisionBindingFailure, message: string): DecisionBinding => ({ ok: false, reason, message });
  if (held === undefined || held.escalationId !== data.escalationId)
    return fail(F.escalationUnknown, `no pending escalation ${data.escalationId} of this task`);
  if (held.taskId !== taskId) return fail(F.taskMismatch, `escalation ${held.escalationId} is of another task`);
  if (held.actionId === null || held.actionId !== data.actionId)
    return fail(F.actionMismatch, `escalation ${held.escalationId} is about ${held.actionId ?? 'no action'}`);
  if (held.argsHash === null || held.argsHash !== data.argsHash)
    return fail(F.argsMismatch, `the decision is bound to args ${data.argsHash}, the escalation to ${held.argsHash}`);
  if (held.policyVersion !== data.policyVersion)
    return fail(F.policyMismatch, `decided under policy ${data.policyVersion}, escalated under ${held.policyVersion}`);
  if (Date.parse(data.expiresAt) <= now.getTime()) return fail(F.expired, `the decision expired at ${data.expiresAt}`);
  if (Date.parse(data.expiresAt) > Date.parse(held.expiresAt))
    return fail(F.outlivesEscalation, `the decision outlives its escalation (${held.expiresAt})`);
  return { ok: true };
}
