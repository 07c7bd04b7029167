import { describe, expect, it } from 'vitest';
import { Redactor } from '@warden/contracts';

const CANARY = 'sk-proj-CANARYcanary0123456789abcdefXYZ';

describe('Redactor', () => {
  const redactor = new Redactor({
    patterns: [{ name: 'internal', pattern: /INT-[0-9]{6}/ }],
    literals: ['hunter2-literal'],
  });

  it('replaces secrets in nested strings and counts them', () => {
    const { value, count } = redactor.redact({
      prompt: `use key ${CANARY} please`,
      nested: [{ note: 'password=swordfish; other' }, 'Authorization: Bearer abcdefghijklmnopqrstuvwx'],
      code: 'INT-123456',
      mine: 'token hunter2-literal here',
    });
    const text = JSON.stringify(value);
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('swordfish');
    expect(text).not.toContain('abcdefghijklmnopqrstuvwx');
    expect(text).not.toContain('INT-123456');
    expect(text).not.toContain('hunter2-literal');
    expect(text).toContain('[REDACTED:openai_key]');
    expect(text).toContain('password=[REDACTED:assignment]');
    expect(count).toBe(5);
  });

  it('redacts the value of secret-named keys whatever it holds', () => {
    const { value } = redactor.redact({ config: { apiKey: 'short', Password: 'x' }, ok: 'visible' });
    expect(value).toEqual({ config: { apiKey: '[REDACTED:key]', Password: '[REDACTED:key]' }, ok: 'visible' });
  });

  it('is idempotent and leaves clean values alone', () => {
    const once = redactor.redact({ a: `k=${CANARY}`, b: 'password: hunter' }).value;
    const twice = redactor.redact(once);
    expect(twice.value).toEqual(once);
    expect(twice.count).toBe(0);
    expect(redactor.redact({ n: 1, s: 'plain text', t: true, z: null })).toEqual({
      value: { n: 1, s: 'plain text', t: true, z: null },
      count: 0,
    });
  });

  it('returns a clean value itself, and copies one it redacts', () => {
    const clean = { a: 'plain', nested: [{ b: 'text', n: 2 }] };
    expect(redactor.redact(clean).value).toBe(clean);
    const dirty = { a: 'plain', nested: [{ b: `key ${CANARY}` }] };
    const redacted = redactor.redact(dirty);
    expect(redacted.value).not.toBe(dirty);
    expect(dirty.nested[0]!.b).toContain(CANARY);
    expect(redacted.value.nested[0]!.b).not.toContain(CANARY);
    expect(redactor.redact({ Password: 'x' })).toEqual({ value: { Password: '[REDACTED:key]' }, count: 1 });
  });

  it('catches private keys, AWS keys and JWTs', () => {
    const text = [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----',
      'AKIAABCDEFGHIJKLMNOP',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    ].join(' ');
    const { value, count } = redactor.redactString(text);
    expect(count).toBe(3);
    expect(value).not.toMatch(/MIIabc|AKIA|eyJhbGci/);
  });
});
