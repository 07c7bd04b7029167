import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import type { JsonValue } from './common-schemas.js';

/*
 * One signature scheme for every event a worker must be able to trust without trusting whoever can write to a topic
 * (a person's decisions today, the guard's verdicts later): Ed25519 over the canonical JSON of
 * {type, taskId, tenantId, bound}. The signer holds the private key; verifiers hold only public keys, named by key
 * id (several at once, for rotation), so a compromised verifier cannot mint a signed event.
 */

const KEY_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** An Ed25519 signature as events carry it: the signing key's id and the signature (base64, 64 bytes). */
export const EventSignature = z
  .object({
    keyId: z.string().regex(KEY_ID),
    ed25519: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
  })
  .strict();
/** An Ed25519 signature as events carry it. */
export type EventSignature = z.infer<typeof EventSignature>;

/** A private key that signs events: its id (named in each signature) and the key (never in an event). */
export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** A public key that checks signatures, under its id. */
export interface VerifyingKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

/** Why a signature was accepted or not. */
export type SignatureCheck =
  | { readonly ok: true; readonly keyId: string }
  | { readonly ok: false; readonly reason: 'unsigned' | 'unknown_key' | 'bad_signature' };

/** The bytes a signature covers: canonical JSON of the event type, its task and tenant, and the bound fields. */
export function signingPayload(type: string, taskId: string, tenantId: string, bound: JsonValue): string {
  return canonicalJson({ type, taskId, tenantId, bound });
}

/** Signs what an event binds (see signingPayload) with an Ed25519 key. */
export function signEvent(
  type: string,
  taskId: string,
  tenantId: string,
  bound: JsonValue,
  key: SigningKey,
): EventSignature {
  const payload = Buffer.from(signingPayload(type, taskId, tenantId, bound), 'utf8');
  return { keyId: key.keyId, ed25519: sign(null, payload, key.privateKey).toString('base64') };
}

/** Checks an Ed25519 signature over what an event binds against the given public keys. */
export function verifySignature(
  type: string,
  taskId: string,
  tenantId: string,
  bound: JsonValue,
  signature: { readonly keyId: string; readonly ed25519?: string | undefined } | undefined,
  keys: ReadonlyMap<string, VerifyingKey>,
): SignatureCheck {
  if (signature?.ed25519 === undefined) return { ok: false, reason: 'unsigned' };
  const key = keys.get(signature.keyId);
  if (key === undefined) return { ok: false, reason: 'unknown_key' };
  const given = Buffer.from(signature.ed25519, 'base64');
  const payload = Buffer.from(signingPayload(type, taskId, tenantId, bound), 'utf8');
  return given.length === 64 && verify(null, payload, key.publicKey, given)
    ? { ok: true, keyId: key.keyId }
    : { ok: false, reason: 'bad_signature' };
}

/** Which public keys a worker trusts for one kind of signed event, or the loudly logged insecure development setting. */
export interface SignatureTrust {
  readonly keys: ReadonlyMap<string, VerifyingKey>;
  /** Development only: accept anything, signed or not. */
  readonly insecureAcceptUnsigned: boolean;
}

/** Whether a signed event is authentic under a trust configuration (keyId null: accepted by the insecure setting). */
export type Authentication =
  | { readonly ok: true; readonly keyId: string | null }
  | { readonly ok: false; readonly reason: 'no_keys' | Extract<SignatureCheck, { ok: false }>['reason'] };

/**
 * The one fail-closed rule of every signed event (people's decisions, admins' halt decisions, the guard's
 * verdicts): with the insecure development setting anything passes (keyId null); without keys nothing does
 * (`no_keys`); otherwise the signature must verify under one of the keys.
 */
export function authenticateSignature(
  type: string,
  taskId: string,
  tenantId: string,
  bound: JsonValue,
  signature: { readonly keyId: string; readonly ed25519?: string | undefined } | undefined,
  trust: SignatureTrust,
): Authentication {
  if (trust.insecureAcceptUnsigned) return { ok: true, keyId: null };
  if (trust.keys.size === 0) return { ok: false, reason: 'no_keys' };
  return verifySignature(type, taskId, tenantId, bound, signature, trust.keys);
}

/** A signed event's data: whatever it carries, and its signature. */
type SignedData = {
  readonly signature?: { readonly keyId: string; readonly ed25519?: string | undefined } | undefined;
};

/** The four operations of one kind of signed event (a verdict, a person's decision, an admin's halt decision). */
export interface SignatureScheme<T extends string, D extends SignedData> {
  /** What a signature covers (canonical JSON): the type, task, tenant and every bound field. */
  readonly payload: (type: T, taskId: string, tenantId: string, data: D) => string;
  /** Signs with an Ed25519 key: the `signature` field to put in the data (sign the data as it goes on the wire). */
  readonly sign: (type: T, taskId: string, tenantId: string, data: D, key: SigningKey) => EventSignature;
  /** Checks the data's signature against the given public keys. */
  readonly verify: (
    type: T,
    taskId: string,
    tenantId: string,
    data: D,
    keys: ReadonlyMap<string, VerifyingKey>,
  ) => SignatureCheck;
  /** Authenticates under a trust configuration (the fail-closed rule of authenticateSignature). */
  readonly authenticate: (type: T, taskId: string, tenantId: string, data: D, trust: SignatureTrust) => Authentication;
}

/**
 * The scheme of one kind of signed event: a signature binds its type, task and tenant (so it cannot be replayed onto
 * another task or tenant) and every field of its data except the signature itself and the `unbound` ones (free text
 * such as a person's comment).
 */
export function signatureScheme<T extends string, D extends SignedData>(
  unbound: readonly string[] = [],
): SignatureScheme<T, D> {
  const left = new Set(['signature', ...unbound]);
  const boundOf = (data: D): JsonValue => {
    const bound = Object.fromEntries(Object.entries(data).filter(([k]) => !left.has(k)));
    return JSON.parse(JSON.stringify(bound)) as JsonValue; // drops undefined optional fields, as the wire does
  };
  return {
    payload: (type, taskId, tenantId, data) => signingPayload(type, taskId, tenantId, boundOf(data)),
    sign: (type, taskId, tenantId, data, key) => signEvent(type, taskId, tenantId, boundOf(data), key),
    verify: (type, taskId, tenantId, data, keys) =>
      verifySignature(type, taskId, tenantId, boundOf(data), data.signature, keys),
    authenticate: (type, taskId, tenantId, data, trust) =>
      authenticateSignature(type, taskId, tenantId, boundOf(data), data.signature, trust),
  };
}

/** A new Ed25519 key pair under one key id, with the text forms parseSigningKey and parseVerifyingKeys read. */
export function generateSigningKeyPair(keyId: string): {
  signingKey: SigningKey;
  verifyingKey: VerifyingKey;
  signingKeyText: string;
  verifyingKeyText: string;
} {
  if (!KEY_ID.test(keyId)) throw new Error(`key id ${JSON.stringify(keyId)}: expected [A-Za-z0-9._-]{1,100}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signingKey: { keyId, privateKey },
    verifyingKey: { keyId, publicKey },
    signingKeyText: `${keyId}:${privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
    verifyingKeyText: `${keyId}:${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
  };
}

function splitEntry(entry: string, what: string, index: number): { keyId: string; der: Buffer } {
  const at = entry.indexOf(':');
  const keyId = at < 0 ? '' : entry.slice(0, at);
  if (!KEY_ID.test(keyId)) throw new Error(`${what} entry ${index}: expected keyId:base64der`);
  return { keyId, der: Buffer.from(entry.slice(at + 1).trim(), 'base64') };
}

/**
 * Parses a signing key from its text: `keyId:base64` of the Ed25519 private key in PKCS#8 DER. Throws an Error
 * naming the problem (never the key).
 */
export function parseSigningKey(text: string): SigningKey {
  const { keyId, der } = splitEntry(text.trim(), 'signing key', 1);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new Error(`signing key ${keyId}: not a PKCS#8 DER private key (base64)`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${keyId}: not an Ed25519 key`);
  return { keyId, privateKey };
}

/**
 * Parses verifying keys from their text: `keyId:base64` of Ed25519 public keys in SPKI DER, separated by commas.
 * Throws an Error naming the bad entry.
 */
export function parseVerifyingKeys(text: string): Map<string, VerifyingKey> {
  const keys = new Map<string, VerifyingKey>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const { keyId, der } = splitEntry(entry, 'verifying key', keys.size + 1);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch (error) {
      throw new Error(`verifying key ${keyId}: not an SPKI DER public key (base64)`, { cause: error });
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`verifying key ${keyId}: not an Ed25519 key`);
    if (keys.has(keyId)) throw new Error(`verifying key ${keyId} is given twice`);
    keys.set(keyId, { keyId, publicKey });
  }
  return keys;
}

/** The verifying key of a signing key (the public half), e.g. to check what a service signs. */
export function verifyingKeyOf(key: SigningKey): VerifyingKey {
  return { keyId: key.keyId, publicKey: createPublicKey(key.privateKey) };
}
