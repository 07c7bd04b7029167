import type { JsonValue } from './common-schemas.js';
import type { EventData } from './events.js';
import {
  authenticateSignature,
  type Authentication,
  type SignatureTrust,
  signEvent,
  signingPayload,
  verifySignature,
  type EventSignature,
  type SignatureCheck,
  type SigningKey,
  type VerifyingKey,
} from './event-signature.js';

/*
 * The guard's verdicts are signed with the scheme people's decisions use (event-signature.ts, ADR 0017): Ed25519
 * over {type, taskId, tenantId, bound}, where bound is every field of the verdict but its signature. The guard alone
 * holds the private key; the executor holds public keys (WARDEN_GUARD_PUBLIC_KEYS), so anything that can write to
 * the verdicts topic, a compromised executor included, cannot mint a verdict the executor runs (ADR 0018).
 */

/** The guard's verdicts, as their events carry them. */
export type VerdictType = 'ActionApproved' | 'ActionRejected' | 'EscalationRequested';
type VerdictData = EventData<'ActionApproved'> | EventData<'ActionRejected'> | EventData<'EscalationRequested'>;

/** Every field of a verdict but its signature: what a signature binds. */
function boundOf(data: VerdictData): JsonValue {
  const { signature: _signature, ...bound } = data;
  return JSON.parse(JSON.stringify(bound)) as JsonValue; // drops undefined optional fields, as the wire does
}

/**
 * What a verdict's signature covers (canonical JSON): its type, task and tenant (so it cannot be replayed onto
 * another task or tenant) and every field of the verdict but the signature (action, tool, args, args hash, impact,
 * policy version, the rules evaluated and the proposal it answers).
 */
export function verdictSigningPayload(type: VerdictType, taskId: string, tenantId: string, data: VerdictData): string {
  return signingPayload(type, taskId, tenantId, boundOf(data));
}

/**
 * Signs a verdict with the guard's Ed25519 key: the `signature` field to put in its data. Sign the data as it goes
 * on the wire (redacted and in zod's output form), since that is what the verifier reads.
 */
export function signVerdict(
  type: VerdictType,
  taskId: string,
  tenantId: string,
  data: VerdictData,
  key: SigningKey,
): EventSignature {
  return signEvent(type, taskId, tenantId, boundOf(data), key);
}

/**
 * How a worker trusts the guard's verdicts: the guard's public keys and the development escape hatch. With no keys
 * and no escape hatch every verdict is refused (fail closed).
 */
export type VerdictTrust = SignatureTrust;

/** Whether a verdict is authentic under a trust configuration. */
export type VerdictAuthentication = Authentication;

/** Checks a verdict's Ed25519 signature against the guard's public keys. */
export function verifyVerdict(
  type: VerdictType,
  taskId: string,
  tenantId: string,
  data: VerdictData,
  keys: ReadonlyMap<string, VerifyingKey>,
): SignatureCheck {
  return verifySignature(type, taskId, tenantId, boundOf(data), data.signature, keys);
}

/**
 * Authenticates a verdict: with the insecure development setting anything passes (keyId null); without the guard's
 * public keys nothing does (`no_keys`); otherwise its signature must verify under one of them.
 */
export function authenticateVerdict(
  type: VerdictType,
  taskId: string,
  tenantId: string,
  data: VerdictData,
  trust: VerdictTrust,
): VerdictAuthentication {
  return authenticateSignature(type, taskId, tenantId, boundOf(data), data.signature, trust);
}
