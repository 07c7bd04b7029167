import { z } from 'zod';
import type { EventData } from './events.js';
import { signatureScheme } from './event-signature.js';

/** An admin's answer to a halted task, as its event carries it. */
export type HaltDecisionType = 'TaskResumed' | 'TaskCancelled';
type HaltDecisionData = EventData<'TaskResumed'> | EventData<'TaskCancelled'>;

/** Halt reasons an admin may resume or cancel: a defence stopped the task, not a person or an expiry. */
export const ResumableHaltReasons: ReadonlySet<string> = new Set([
  'task_breaker_open',
  'budget_exhausted',
  'loop_detected',
  'model_overrun',
]);

/**
 * A halt decision's signature binds every field but the signature and the free-text comment; it is authenticated
 * under the same trust as people's decisions (the scheme of event-signature.ts).
 */
const haltDecisions = signatureScheme<HaltDecisionType, HaltDecisionData>(['comment']);

/** Signs an admin's halt decision with the deciding service's Ed25519 key. */
export const signHaltDecision = haltDecisions.sign;

/** Checks a halt decision's Ed25519 signature against the given public keys. */
export const verifyHaltDecision = haltDecisions.verify;

/** Authenticates a halt decision: the insecure setting passes anything, no keys nothing, else a key must verify it. */
export const authenticateHaltDecision = haltDecisions.authenticate;

/** The halt a task is in, as the worker that acts on halt decisions holds it. */
export interface HeldHalt {
  /** The TaskHalted event's id. */
  readonly eventId: string;
  readonly escalationId: string;
  readonly reasonCode: string;
}

/** A HeldHalt as a worker keeps it in its keyed state, checked when the state is restored (ADR 0027). */
export const HeldHaltSchema: z.ZodType<HeldHalt> = z.object({
  eventId: z.string(),
  escalationId: z.string(),
  reasonCode: z.string(),
});

/** Why a halt decision does not answer the task's halt. */
export type HaltBindingFailure = 'not_halted' | 'halt_mismatch' | 'not_resumable' | 'not_admin' | 'decision_expired';

/**
 * Checks a halt decision against the halt the worker holds (undefined: the task is not halted): the same
 * TaskHalted event, escalation and reason, a resumable reason, decided in the admin role, and not expired.
 */
export function checkHaltBinding(
  data: HaltDecisionData,
  held: HeldHalt | undefined,
  now: Date,
): { readonly ok: true } | { readonly ok: false; readonly reason: HaltBindingFailure; readonly message: string } {
  const fail = (reason: HaltBindingFailure, message: string) => ({ ok: false, reason, message }) as const;
  if (held === undefined) return fail('not_halted', 'the task is not halted');
  if (held.eventId !== data.haltEventId || held.escalationId !== data.escalationId)
    return fail('halt_mismatch', `the decision answers halt ${data.haltEventId}, the task is in halt ${held.eventId}`);
  if (held.reasonCode !== data.haltReasonCode)
    return fail(
      'halt_mismatch',
      `the decision names reason ${data.haltReasonCode}, the task halted for ${held.reasonCode}`,
    );
  if (!ResumableHaltReasons.has(held.reasonCode))
    return fail('not_resumable', `a task halted for ${held.reasonCode} is not resumed or cancelled by an admin`);
  if (data.decidedBy.role !== 'admin') return fail('not_admin', 'only an admin resumes or cancels a halted task');
  if (Date.parse(data.expiresAt) <= now.getTime()) return fail('decision_expired', `expired at ${data.expiresAt}`);
  return { ok: true };
}
