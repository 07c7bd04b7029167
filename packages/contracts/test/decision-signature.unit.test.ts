import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkDecisionSignature,
  parseDecisionKeys,
  signDecision,
  type DecisionKey,
  type EventData,
} from '../src/index.js';

const key: DecisionKey = { keyId: 'esc-2026', secret: randomBytes(32) };
const keys = new Map([[key.keyId, key]]);
const decision: EventData<'HumanApproved'> = {
  escalationId: 'task-1:esc:a1',
  actionId: 'a1',
  decidedBy: { id: 'ops-ana', kind: 'user', role: 'approver' },
  argsHash: 'a'.repeat(64),
  policyVersion: 'guard.v1',
  expiresAt: '2030-01-01T00:00:00.000Z',
  tool: 'customers.delete',
  args: { collection: 'customers', ids: ['c-1'] },
};
const signed = { ...decision, signature: signDecision('HumanApproved', 'task-1', 'tenant-a', decision, key) };

describe('decision signatures', () => {
  it('accepts a decision signed with a configured key, for its own task and tenant', () => {
    expect(checkDecisionSignature('HumanApproved', 'task-1', 'tenant-a', signed, keys)).toEqual({
      ok: true,
      keyId: 'esc-2026',
    });
    // the comment is free text, outside the signature
    expect(checkDecisionSignature('HumanApproved', 'task-1', 'tenant-a', { ...signed, comment: 'ok' }, keys).ok).toBe(
      true,
    );
  });

  it('refuses an unsigned decision, an unknown key and any change to what was signed', () => {
    const check = (data: EventData<'HumanApproved'>, taskId = 'task-1', tenantId = 'tenant-a') =>
      checkDecisionSignature('HumanApproved', taskId, tenantId, data, keys);
    expect(check(decision)).toEqual({ ok: false, reason: 'unsigned' });
    expect(check({ ...signed, signature: { ...signed.signature, keyId: 'other' } })).toEqual({
      ok: false,
      reason: 'unknown_key',
    });
    const bad = { ok: false, reason: 'bad_signature' };
    expect(check({ ...signed, argsHash: 'b'.repeat(64) })).toEqual(bad);
    expect(check({ ...signed, expiresAt: '2031-01-01T00:00:00.000Z' })).toEqual(bad);
    expect(check({ ...signed, args: { collection: 'customers', ids: ['c-2'] } })).toEqual(bad);
    expect(check({ ...signed, decidedBy: { id: 'mallory', kind: 'user' } })).toEqual(bad);
    expect(check(signed, 'task-2')).toEqual(bad);
    expect(check(signed, 'task-1', 'tenant-b')).toEqual(bad);
    expect(checkDecisionSignature('HumanDenied', 'task-1', 'tenant-a', signed, keys)).toEqual(bad);
    const otherSecret = new Map([[key.keyId, { keyId: key.keyId, secret: randomBytes(32) }]]);
    expect(checkDecisionSignature('HumanApproved', 'task-1', 'tenant-a', signed, otherSecret)).toEqual(bad);
  });

  it('parses keyId:base64secret lists and refuses short secrets, bad ids and repeats without echoing secrets', () => {
    const secret = randomBytes(32).toString('base64');
    const parsed = parseDecisionKeys(`k1:${secret}, k2:${randomBytes(48).toString('base64')}`);
    expect([...parsed.keys()]).toEqual(['k1', 'k2']);
    expect(parsed.get('k1')!.secret.toString('base64')).toBe(secret);
    expect(() => parseDecisionKeys(`k1:${randomBytes(8).toString('base64')}`)).toThrow(/at least 32 bytes/);
    expect(() => parseDecisionKeys('no-colon')).toThrow(/keyId:base64secret/);
    expect(() => parseDecisionKeys(`k1:${secret},k1:${secret}`)).toThrow(/given twice/);
    try {
      parseDecisionKeys(`k1:${secret},k1:${secret}`);
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
  });
});
