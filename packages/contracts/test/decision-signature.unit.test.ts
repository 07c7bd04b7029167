import { describe, expect, it } from 'vitest';
import {
  authenticateDecision,
  checkDecisionBinding,
  generateSigningKeyPair,
  heldEscalationOf,
  parseSigningKey,
  parseVerifyingKeys,
  signDecision,
  signEvent,
  verifyDecision,
  verifySignature,
  verifyingKeyOf,
  type EventData,
  type HeldEscalation,
} from '../src/index.js';

const pair = generateSigningKeyPair('esc-2026');
const keys = new Map([[pair.verifyingKey.keyId, pair.verifyingKey]]);
const decision: EventData<'HumanApproved'> = {
  escalationId: 'task-1:a1:guard',
  actionId: 'a1',
  decidedBy: { id: 'ops-ana', kind: 'user', role: 'approver' },
  argsHash: 'a'.repeat(64),
  policyVersion: 'guard.v1',
  expiresAt: '2030-01-01T00:00:00.000Z',
  tool: 'customers.delete',
  args: { collection: 'customers', ids: ['c-1'] },
};
const signed = {
  ...decision,
  signature: signDecision('HumanApproved', 'task-1', 'tenant-a', decision, pair.signingKey),
};

describe('decision signatures (Ed25519)', () => {
  it('accepts a decision signed with a trusted key, for its own task and tenant', () => {
    expect(signed.signature.ed25519).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(verifyDecision('HumanApproved', 'task-1', 'tenant-a', signed, keys)).toEqual({
      ok: true,
      keyId: 'esc-2026',
    });
    // the comment is free text, outside the signature
    expect(verifyDecision('HumanApproved', 'task-1', 'tenant-a', { ...signed, comment: 'ok' }, keys).ok).toBe(true);
  });

  it('refuses an unsigned decision, an unknown key, a retired HMAC signature and any change to what was signed', () => {
    const check = (data: EventData<'HumanApproved'>, taskId = 'task-1', tenantId = 'tenant-a') =>
      verifyDecision('HumanApproved', taskId, tenantId, data, keys);
    expect(check(decision)).toEqual({ ok: false, reason: 'unsigned' });
    expect(check({ ...decision, signature: { keyId: 'esc-2026', hmacSha256: 'c'.repeat(64) } })).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    expect(check({ ...signed, signature: { ...signed.signature, keyId: 'other' } })).toEqual({
      ok: false,
      reason: 'unknown_key',
    });
    const bad = { ok: false, reason: 'bad_signature' };
    expect(check({ ...signed, argsHash: 'b'.repeat(64) })).toEqual(bad);
    expect(check({ ...signed, escalationId: 'task-1:a1:other' })).toEqual(bad);
    expect(check({ ...signed, actionId: 'a2' })).toEqual(bad);
    expect(check({ ...signed, policyVersion: 'guard.v0' })).toEqual(bad);
    expect(check({ ...signed, expiresAt: '2031-01-01T00:00:00.000Z' })).toEqual(bad);
    expect(check({ ...signed, args: { collection: 'customers', ids: ['c-2'] } })).toEqual(bad);
    expect(check({ ...signed, decidedBy: { id: 'ops-ana', kind: 'user', role: 'admin' } })).toEqual(bad);
    expect(check(signed, 'task-2')).toEqual(bad);
    expect(check(signed, 'task-1', 'tenant-b')).toEqual(bad);
    const flipped = Buffer.from(signed.signature.ed25519, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(check({ ...signed, signature: { ...signed.signature, ed25519: flipped.toString('base64') } })).toEqual(bad);
    expect(verifyDecision('HumanDenied', 'task-1', 'tenant-a', signed, keys)).toEqual(bad);
    const otherKey = generateSigningKeyPair('esc-2026').verifyingKey;
    expect(verifyDecision('HumanApproved', 'task-1', 'tenant-a', signed, new Map([['esc-2026', otherKey]]))).toEqual(
      bad,
    );
  });

  it('is one generic scheme: any event type signs canonical JSON of its type, task, tenant and bound fields', () => {
    const bound = { actionId: 'a1', argsHash: 'a'.repeat(64), policyVersion: 'guard.v1' };
    const signature = signEvent('ActionApproved', 'task-1', 'tenant-a', bound, pair.signingKey);
    expect(verifySignature('ActionApproved', 'task-1', 'tenant-a', { ...bound }, signature, keys).ok).toBe(true);
    expect(verifySignature('HumanApproved', 'task-1', 'tenant-a', bound, signature, keys).ok).toBe(false);
    expect(
      verifySignature('ActionApproved', 'task-1', 'tenant-a', { ...bound, actionId: 'a2' }, signature, keys),
    ).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('fails closed: without public keys every decision is refused, unless the insecure development setting is on', () => {
    const none = { keys: new Map(), insecureAcceptUnsigned: false };
    expect(authenticateDecision('HumanApproved', 'task-1', 'tenant-a', signed, none)).toEqual({
      ok: false,
      reason: 'no_keys',
    });
    expect(
      authenticateDecision('HumanApproved', 'task-1', 'tenant-a', decision, { ...none, insecureAcceptUnsigned: true }),
    ).toEqual({ ok: true, keyId: null });
    const trusted = { keys, insecureAcceptUnsigned: false };
    expect(authenticateDecision('HumanApproved', 'task-1', 'tenant-a', signed, trusted).ok).toBe(true);
    expect(authenticateDecision('HumanApproved', 'task-1', 'tenant-a', decision, trusted)).toEqual({
      ok: false,
      reason: 'unsigned',
    });
  });

  it('parses key texts; verifiers read only public keys, and no error echoes a key', () => {
    const signing = parseSigningKey(pair.signingKeyText);
    expect(signing.keyId).toBe('esc-2026');
    const verifying = parseVerifyingKeys(`${pair.verifyingKeyText}, ${generateSigningKeyPair('k2').verifyingKeyText}`);
    expect([...verifying.keys()]).toEqual(['esc-2026', 'k2']);
    const resigned = signDecision('HumanApproved', 'task-1', 'tenant-a', decision, signing);
    expect(
      verifyDecision('HumanApproved', 'task-1', 'tenant-a', { ...decision, signature: resigned }, verifying).ok,
    ).toBe(true);
    expect(verifyingKeyOf(signing).publicKey.equals(pair.verifyingKey.publicKey)).toBe(true);
    const secret = pair.signingKeyText.slice(pair.signingKeyText.indexOf(':') + 1);
    expect(() => parseVerifyingKeys(pair.signingKeyText)).toThrow(/not an SPKI DER public key/);
    try {
      parseVerifyingKeys(pair.signingKeyText);
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
    expect(() => parseSigningKey(pair.verifyingKeyText)).toThrow(/not a PKCS#8 DER private key/);
    expect(() => parseVerifyingKeys('no-colon')).toThrow(/keyId:base64der/);
    expect(() => parseVerifyingKeys(`${pair.verifyingKeyText},${pair.verifyingKeyText}`)).toThrow(/given twice/);
    expect(() => generateSigningKeyPair('bad id')).toThrow(/key id/);
  });
});

describe('a decision bound to the escalation a worker holds', () => {
  const held: HeldEscalation = heldEscalationOf('task-1', {
    escalationId: 'task-1:a1:guard',
    source: 'guard',
    reasonCode: 'low_confidence',
    reason: 'below the threshold',
    action: { actionId: 'a1', tool: 'customers.delete', args: decision.args, argsHash: 'a'.repeat(64) },
    policyVersion: 'guard.v1',
    expiresAt: '2030-01-01T00:00:00.000Z',
  });
  const now = new Date('2029-01-01T00:00:00.000Z');

  it('accepts exactly the escalation, action, args, policy and a live expiry', () => {
    expect(checkDecisionBinding('task-1', decision, held, now)).toEqual({ ok: true });
  });

  it('refuses another escalation, task, action, args, a stale policy, an expired or over-long decision', () => {
    const reason = (data: EventData<'HumanApproved'>, at = now, h: HeldEscalation | undefined = held, t = 'task-1') => {
      const r = checkDecisionBinding(t, data, h, at);
      return r.ok ? 'ok' : r.reason;
    };
    expect(checkDecisionBinding('task-1', decision, undefined, now)).toMatchObject({ reason: 'escalation_unknown' });
    expect(reason({ ...decision, escalationId: 'task-1:a1:executor' })).toBe('escalation_unknown');
    expect(reason(decision, now, held, 'task-2')).toBe('task_mismatch');
    expect(reason({ ...decision, actionId: 'a2' })).toBe('action_mismatch');
    expect(reason({ ...decision, argsHash: 'b'.repeat(64) })).toBe('args_mismatch');
    expect(reason({ ...decision, policyVersion: 'guard.v0' })).toBe('policy_mismatch');
    expect(reason(decision, new Date('2030-01-01T00:00:00.000Z'))).toBe('decision_expired');
    expect(reason({ ...decision, expiresAt: '2030-06-01T00:00:00.000Z' })).toBe('decision_outlives_escalation');
    expect(reason(decision, now, { ...held, actionId: null, argsHash: null })).toBe('action_mismatch');
  });

  it('holds an escalated answer by its answer hash', () => {
    const answer = heldEscalationOf('task-1', {
      escalationId: 'task-1:a9:guard',
      source: 'guard',
      reasonCode: 'low_confidence',
      reason: 'r',
      action: null,
      answer: { actionId: 'a9', answer: 'done', argsHash: 'd'.repeat(64) },
      policyVersion: 'guard.v1',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(answer).toMatchObject({ actionId: 'a9', argsHash: 'd'.repeat(64) });
  });
});
