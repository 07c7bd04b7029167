import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson, sha256Hex } from '@warden/contracts';
import { z } from 'zod';

/** A signed statement by the auditor: "task T had `count` chained events ending at `head`" at time `at`. */
export const Checkpoint = z
  .object({
    v: z.literal(1),
    taskId: z.string().min(1),
    tenantId: z.string().min(1),
    count: z.number().int().nonnegative(),
    head: z.object({ seq: z.number().int().nonnegative(), hash: z.string().regex(/^[0-9a-f]{64}$/) }).nullable(),
    terminal: z.boolean(),
    at: z.iso.datetime(),
    auditor: z.string().min(1),
    /** First 16 hex characters of sha256(key): which key signed it, without revealing the key. */
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    /** HMAC-SHA256 over the canonical JSON of every other field, hex. */
    sig: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type Checkpoint = z.infer<typeof Checkpoint>;

/** A checkpoint before signing. */
export type UnsignedCheckpoint = Omit<Checkpoint, 'sig' | 'keyId'>;

/** The id of a signing key (public). */
export function keyIdOf(key: string): string {
  return sha256Hex(key).slice(0, 16);
}

function mac(key: string, body: Omit<Checkpoint, 'sig'>): string {
  return createHmac('sha256', key).update(canonicalJson(body)).digest('hex');
}

/** Signs a checkpoint with HMAC-SHA256 over its canonical JSON (RFC 8785). */
export function signCheckpoint(body: UnsignedCheckpoint, key: string): Checkpoint {
  const withKey = { ...body, keyId: keyIdOf(key) };
  return { ...withKey, sig: mac(key, withKey) };
}

/** True when the checkpoint is well formed and its signature is this key's (compared in constant time). */
export function checkpointSignatureValid(checkpoint: unknown, key: string): checkpoint is Checkpoint {
  const parsed = Checkpoint.safeParse(checkpoint);
  if (!parsed.success) return false;
  const { sig, ...body } = parsed.data;
  if (body.keyId !== keyIdOf(key)) return false;
  const expected = Buffer.from(mac(key, body), 'hex');
  const given = Buffer.from(sig, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
