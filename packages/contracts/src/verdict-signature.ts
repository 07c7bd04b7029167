import type { EventData } from './events.js';
import { signatureScheme, type Authentication, type SignatureTrust } from './event-signature.js';

/*
 * The guard's verdicts are signed with the scheme people's decisions use (event-signature.ts, ADR 0017): Ed25519
 * over {type, taskId, tenantId, bound}, where bound is every field of the verdict but its signature. The guard alone
 * holds the private key; the executor holds public keys (WARDEN_GUARD_PUBLIC_KEYS), so anything that can write to
 * the verdicts topic, a compromised executor included, cannot mint a verdict the executor runs (ADR 0018).
 */

/** The guard's verdicts, as their events carry them. */
export type VerdictType = 'ActionApproved' | 'ActionRejected' | 'EscalationRequested';
type VerdictData = EventData<'ActionApproved'> | EventData<'ActionRejected'> | EventData<'EscalationRequested'>;

/**
 * A verdict's signature covers its type, task and tenant and every field of the verdict but the signature (action,
 * tool, args, args hash, impact, policy version, the rules evaluated and the proposal it answers).
 */
const verdicts = signatureScheme<VerdictType, VerdictData>();

/** What a verdict's signature covers (canonical JSON). */
export const verdictSigningPayload = verdicts.payload;

/** Signs a verdict with the guard's Ed25519 key (the data as it goes on the wire: redacted, in zod's output form). */
export const signVerdict = verdicts.sign;

/** Checks a verdict's Ed25519 signature against the guard's public keys. */
export const verifyVerdict = verdicts.verify;

/**
 * Authenticates a verdict: with the insecure development setting anything passes (keyId null); without the guard's
 * public keys nothing does (`no_keys`); otherwise its signature must verify under one of them.
 */
export const authenticateVerdict = verdicts.authenticate;

/**
 * How a worker trusts the guard's verdicts: the guard's public keys and the development escape hatch. With no keys
 * and no escape hatch every verdict is refused (fail closed).
 */
export type VerdictTrust = SignatureTrust;

/** Whether a verdict is authentic under a trust configuration. */
export type VerdictAuthentication = Authentication;
