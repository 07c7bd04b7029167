import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { DECISION_KEY_ID_PATTERN } from './common-schemas.js';
import type { EventData } from './events.js';

/** A person's decision as its event carries it. */
export type DecisionType = 'HumanApproved' | 'HumanDenied';
type DecisionData = EventData<'HumanApproved'> | EventData<'HumanDenied'>;

/** A key that signs or checks decisions: its id (named in the signature) and its secret bytes (never in an event). */
export interface DecisionKey {
  readonly keyId: string;
  readonly secret: Buffer;
}

/** Why a decision's signature was not accepted. */
export type DecisionCheck =
  | { readonly ok: true; readonly keyId: string }
  | { readonly ok: false; readonly reason: 'unsigned' | 'unknown_key' | 'bad_signature' };

/**
 * What a decision's signature covers (canonical JSON): its type, task and tenant (so it cannot be replayed onto
 * another task or tenant), and every field of the decision except the signature and the free-text comment.
 */
export function decisionSigningPayload(
  type: DecisionType,
  taskId: string,
  tenantId: string,
  data: DecisionData,
): string {
  const { signature: _signature, comment: _comment, ...bound } = data;
  return canonicalJson({ type, taskId, tenantId, decision: bound });
}

function hmac(key: DecisionKey, payload: string): string {
  return createHmac('sha256', key.secret).update(payload, 'utf8').digest('hex');
}

/** Signs a decision: the `signature` field to put in its data. */
export function signDecision(
  type: DecisionType,
  taskId: string,
  tenantId: string,
  data: DecisionData,
  key: DecisionKey,
): { keyId: string; hmacSha256: string } {
  return { keyId: key.keyId, hmacSha256: hmac(key, decisionSigningPayload(type, taskId, tenantId, data)) };
}

/** Checks a decision's signature against the configured keys (constant-time comparison). */
export function checkDecisionSignature(
  type: DecisionType,
  taskId: string,
  tenantId: string,
  data: DecisionData,
  keys: ReadonlyMap<string, DecisionKey>,
): DecisionCheck {
  const signature = data.signature;
  if (signature === undefined) return { ok: false, reason: 'unsigned' };
  const key = keys.get(signature.keyId);
  if (key === undefined) return { ok: false, reason: 'unknown_key' };
  const expected = Buffer.from(hmac(key, decisionSigningPayload(type, taskId, tenantId, data)), 'hex');
  const given = Buffer.from(signature.hmacSha256, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { ok: true, keyId: key.keyId }
    : { ok: false, reason: 'bad_signature' };
}

/**
 * Parses decision keys from their configuration text: `keyId:base64secret` entries separated by commas; each
 * secret at least 32 bytes. Throws an Error naming the bad entry (without its secret).
 */
export function parseDecisionKeys(text: string): Map<string, DecisionKey> {
  const keys = new Map<string, DecisionKey>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(':');
    const keyId = at < 0 ? '' : entry.slice(0, at);
    if (!DECISION_KEY_ID_PATTERN.test(keyId))
      throw new Error(`approval key entry ${keys.size + 1}: expected keyId:base64secret`);
    const secret = Buffer.from(entry.slice(at + 1), 'base64');
    if (secret.length < 32) throw new Error(`approval key ${keyId}: the secret must be at least 32 bytes (base64)`);
    if (keys.has(keyId)) throw new Error(`approval key ${keyId} is given twice`);
    keys.set(keyId, { keyId, secret });
  }
  return keys;
}
