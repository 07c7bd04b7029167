import { describe, expect, it } from 'vitest';
import {
  authenticateHaltDecision,
  checkHaltBinding,
  generateSigningKeyPair,
  signHaltDecision,
  type EventData,
  type HeldHalt,
} from '../src/index.js';

const keys = generateSigningKeyPair('esc-1');
const other = generateSigningKeyPair('esc-1');
const trust = { keys: new Map([['esc-1', keys.verifyingKey]]), insecureAcceptUnsigned: false };
const now = new Date('2030-01-01T00:00:00Z');
const held: HeldHalt = { eventId: 'halt-1', escalationId: 't1:planner:3:loop', reasonCode: 'loop_detected' };
const data: EventData<'TaskResumed'> = {
  escalationId: held.escalationId,
  haltEventId: held.eventId,
  haltReasonCode: held.reasonCode,
  decidedBy: { id: 'root', kind: 'user', role: 'admin' },
  policyVersion: 'p1',
  expiresAt: '2030-01-01T00:15:00.000Z',
  grant: { tokens: 1000 },
};
const signed = { ...data, signature: signHaltDecision('TaskResumed', 't1', 'ten', data, keys.signingKey) };

describe("an admin's halt decision", () => {
  it('verifies under the service key, with or without a comment, for its task, tenant and type only', () => {
    expect(authenticateHaltDecision('TaskResumed', 't1', 'ten', signed, trust)).toEqual({ ok: true, keyId: 'esc-1' });
    expect(authenticateHaltDecision('TaskResumed', 't1', 'ten', { ...signed, comment: 'later' }, trust).ok).toBe(true);
    expect(authenticateHaltDecision('TaskResumed', 't2', 'ten', signed, trust)).toMatchObject({ ok: false });
    expect(authenticateHaltDecision('TaskResumed', 't1', 'ten-b', signed, trust)).toMatchObject({ ok: false });
    expect(authenticateHaltDecision('TaskCancelled', 't1', 'ten', signed, trust)).toMatchObject({ ok: false });
  });

  it('fails closed: tampered, unsigned, signed by another key, or no keys at all', () => {
    const check = (d: EventData<'TaskResumed'>, t = trust) =>
      authenticateHaltDecision('TaskResumed', 't1', 'ten', d, t);
    expect(check({ ...signed, grant: { tokens: 1_000_000 } })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check({ ...signed, haltEventId: 'halt-0' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check(data)).toEqual({ ok: false, reason: 'unsigned' });
    const forged = { ...data, signature: signHaltDecision('TaskResumed', 't1', 'ten', data, other.signingKey) };
    expect(check(forged)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(check(signed, { keys: new Map(), insecureAcceptUnsigned: false })).toEqual({ ok: false, reason: 'no_keys' });
  });

  it('binds to the exact halt, a resumable reason, the admin role and its expiry', () => {
    expect(checkHaltBinding(data, held, now)).toEqual({ ok: true });
    const reason = (d: EventData<'TaskResumed'>, h: HeldHalt | undefined = held, at = now) => {
      const r = checkHaltBinding(d, h, at);
      return r.ok ? 'ok' : r.reason;
    };
    expect(checkHaltBinding(data, undefined, now)).toMatchObject({ ok: false, reason: 'not_halted' });
    expect(reason({ ...data, haltEventId: 'halt-0' })).toBe('halt_mismatch');
    expect(reason({ ...data, escalationId: 'other' })).toBe('halt_mismatch');
    expect(reason({ ...data, haltReasonCode: 'task_breaker_open' })).toBe('halt_mismatch');
    expect(
      reason({ ...data, haltReasonCode: 'escalation_expired' }, { ...held, reasonCode: 'escalation_expired' }),
    ).toBe('not_resumable');
    expect(reason({ ...data, decidedBy: { id: 'ana', kind: 'user', role: 'approver' } })).toBe('not_admin');
    expect(reason(data, held, new Date('2030-01-01T00:15:00Z'))).toBe('decision_expired');
  });
});
