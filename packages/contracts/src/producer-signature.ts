import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { EventType } from './events.js';
import type { SigningKey } from './event-signature.js';
import type { ChainBreak } from './verify.js';

/*
 * Producer signatures (ADR 0018): every worker signs each event it produces with its own Ed25519 key, over the
 * event's hash (sha256 of its canonical envelope, which holds its type, task, producer, seq, causes and data). The
 * signature travels in a Kafka header, next to the bytes it vouches for, so the envelope, its hash and the chain
 * stay as they are. A verifier holding the producers' public keys, each under its role, can then tell an event a
 * worker produced from one appended or rewritten by anyone who can write to a topic: a forged event that chains
 * well, or a last event rewritten (which no later link covers), carries no valid signature of a producer allowed to
 * emit its type.
 */

/** The Kafka header carrying an event's producer signature: `keyId:base64(Ed25519 signature)`. */
export const PRODUCER_SIGNATURE_HEADER = 'warden-signature';

/** Who produces events: the workers, and the submitters of tasks (users' producers, the CLI). */
export const ProducerRoles = ['submitter', 'planner', 'guard', 'executor', 'escalation', 'auditor'] as const;
/** A producer's role. */
export type ProducerRole = (typeof ProducerRoles)[number];

/**
 * Which event types each role may produce (docs/architecture.md). DeadLettered is produced by every worker and is
 * never part of a task's chain.
 */
export const producerEventTypes: Readonly<Record<ProducerRole, ReadonlySet<EventType>>> = {
  submitter: new Set<EventType>(['TaskSubmitted']),
  planner: new Set<EventType>([
    'ModelCalled',
    'ModelResponded',
    'ModelFailed',
    'BudgetReserved',
    'BudgetExhausted',
    'LoopDetected',
    'ActionProposed',
    'AnswerProposed',
    'EscalationRequested',
    'TaskCompleted',
    'TaskFailed',
    'TaskHalted',
    'AlertRaised',
    'BreakerOpened', // a task's own breaker (scope task)
    'DeadLettered',
  ]),
  guard: new Set<EventType>(['ActionApproved', 'ActionRejected', 'EscalationRequested', 'AlertRaised', 'DeadLettered']),
  executor: new Set<EventType>([
    'ToolSucceeded',
    'ToolFailed',
    'BreakerOpened',
    'BreakerClosed',
    'AlertRaised',
    'EscalationRequested',
    'DeadLettered',
  ]),
  escalation: new Set<EventType>(['HumanApproved', 'HumanDenied', 'EscalationExpired', 'AlertRaised', 'DeadLettered']),
  auditor: new Set<EventType>(['AlertRaised']),
};

/** A producer's public key, under its id, with the role it speaks for. */
export interface ProducerKey {
  readonly keyId: string;
  readonly role: ProducerRole;
  readonly publicKey: KeyObject;
}

const signedBytes = (hash: string): Buffer => Buffer.from(`warden-event-v1:${hash}`, 'utf8');

/** The header value that signs an event's hash with a producer's key. */
export function producerSignatureOf(hash: string, key: SigningKey): string {
  return `${key.keyId}:${sign(null, signedBytes(hash), key.privateKey).toString('base64')}`;
}

/** Why an event's producer is trusted or not. */
export type ProducerCheck =
  | { readonly ok: true; readonly role: ProducerRole; readonly keyId: string | null }
  | {
      readonly ok: false;
      readonly reason: 'unsigned' | 'unknown_key' | 'bad_signature' | 'type_not_allowed';
      readonly detail: string;
    };

/**
 * Checks an event's producer signature (the header value, or undefined) against the producers' public keys: signed
 * over this hash by a known key, whose role may produce this event type.
 */
export function verifyProducer(
  type: string,
  hash: string,
  header: string | undefined,
  keys: ReadonlyMap<string, ProducerKey>,
): ProducerCheck {
  // A task submitted by a user's own producer (Python, kcat, any Kafka client) carries no Warden key: its author is
  // the Kafka principal that wrote it, and only clients (and the escalation service) may write the tasks topic
  // (ADR 0019). Every other event, and a TaskSubmitted that does carry a signature, must verify.
  if (header === undefined && type === 'TaskSubmitted') return { ok: true, role: 'submitter', keyId: null };
  const at = header?.lastIndexOf(':') ?? -1;
  if (header === undefined || at <= 0) return { ok: false, reason: 'unsigned', detail: 'no producer signature' };
  const keyId = header.slice(0, at);
  const key = keys.get(keyId);
  if (key === undefined) return { ok: false, reason: 'unknown_key', detail: `signed by an unknown key ${keyId}` };
  const signature = Buffer.from(header.slice(at + 1), 'base64');
  if (signature.length !== 64 || !verify(null, signedBytes(hash), key.publicKey, signature)) {
    return { ok: false, reason: 'bad_signature', detail: `the signature of key ${keyId} does not match the event` };
  }
  if (!(producerEventTypes[key.role] as ReadonlySet<string>).has(type)) {
    return { ok: false, reason: 'type_not_allowed', detail: `the ${key.role} (key ${keyId}) may not produce ${type}` };
  }
  return { ok: true, role: key.role, keyId };
}

/**
 * Parses producers' public keys: `role=keyId:base64(Ed25519 SPKI DER)` entries separated by commas, e.g.
 * `guard=guard-1:MCow...,planner=planner-1:MCow...`. Throws an Error naming the bad entry.
 */
export function parseProducerKeys(text: string): Map<string, ProducerKey> {
  const keys = new Map<string, ProducerKey>();
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const role = entry.slice(0, Math.max(eq, 0));
    if (!(ProducerRoles as readonly string[]).includes(role)) {
      throw new Error(
        `producer key entry ${i + 1}: expected role=keyId:base64spki, role one of ${ProducerRoles.join(', ')}`,
      );
    }
    const rest = entry.slice(eq + 1);
    const colon = rest.indexOf(':');
    const keyId = rest.slice(0, Math.max(colon, 0));
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(keyId))
      throw new Error(`producer key entry ${i + 1}: expected role=keyId:base64spki`);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: Buffer.from(rest.slice(colon + 1), 'base64'), format: 'der', type: 'spki' });
    } catch (error) {
      throw new Error(`producer key ${keyId}: not an SPKI DER public key (base64)`, { cause: error });
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`producer key ${keyId}: not an Ed25519 key`);
    if (keys.has(keyId)) throw new Error(`producer key ${keyId} is given twice`);
    keys.set(keyId, { keyId, role: role as ProducerRole, publicKey });
  });
  return keys;
}

/** An event's producer check as a chain break (`unverified_producer`), or undefined when a trusted producer signed it. */
export function producerBreak(
  envelope: { readonly id: string; readonly seq: number; readonly type: string },
  hash: string,
  header: string | undefined,
  keys: ReadonlyMap<string, ProducerKey>,
): ChainBreak | undefined {
  const check = verifyProducer(envelope.type, hash, header, keys);
  if (check.ok) return undefined;
  return {
    kind: 'unverified_producer',
    eventId: envelope.id,
    seq: envelope.seq,
    detail: `${envelope.type} ${envelope.id.slice(0, 8)} (hash ${hash.slice(0, 12)}): ${check.reason}: ${check.detail}`,
  };
}
