import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Authenticator,
  checkDecisionRequest,
  checkHaltRequest,
  escalationConfigFrom,
  type EscalationDoc,
} from '../src/index.js';
import { generateSigningKeyPair } from '@warden/contracts';

const secret = 'an-hs256-secret-of-at-least-32-characters';
const hs = new TextEncoder().encode(secret);
const jwt = (claims: Record<string, unknown>, expires = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expires).setSubject('ana');

describe('people authenticate with bearer tokens', () => {
  const auth = new Authenticator(
    [{ token: 'static-token-0123456789', subject: 'sam', roles: ['viewer'], tenants: ['tenant-a'] }],
    { hs256Secret: secret, issuer: 'https://id.example', audience: 'warden' },
  );
  const issued = (claims: Record<string, unknown>, expires?: string) =>
    jwt(claims, expires).setIssuer('https://id.example').setAudience('warden').sign(hs);

  it('accepts a static token and an OIDC-compatible JWT carrying roles and tenants', async () => {
    expect(await auth.principalOf('static-token-0123456789')).toEqual({
      subject: 'sam',
      roles: ['viewer'],
      tenants: ['tenant-a'],
    });
    expect(await auth.principalOf(await issued({ roles: ['approver', 'pilot'], tenants: ['tenant-a'] }))).toEqual({
      subject: 'ana',
      roles: ['approver'],
      tenants: ['tenant-a'],
    });
  });

  it('refuses unknown, expired, foreign, mis-addressed and role-less tokens', async () => {
    expect(await auth.principalOf(undefined)).toBeUndefined();
    expect(await auth.principalOf('static-token-0123456780')).toBeUndefined();
    expect(await auth.principalOf(await issued({ roles: ['approver'], tenants: ['t'] }, '-1m'))).toBeUndefined();
    const foreign = await jwt({ roles: ['approver'], tenants: ['t'] })
      .setIssuer('https://id.example')
      .setAudience('warden')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-characters'));
    expect(await auth.principalOf(foreign)).toBeUndefined();
    const otherAudience = await jwt({ roles: ['approver'], tenants: ['t'] })
      .setIssuer('https://id.example')
      .setAudience('elsewhere')
      .sign(hs);
    expect(await auth.principalOf(otherAudience)).toBeUndefined();
    expect(await auth.principalOf(await issued({ roles: ['pilot'], tenants: ['t'] }))).toBeUndefined();
    expect(await auth.principalOf(await issued({ roles: ['approver'], tenants: [] }))).toBeUndefined();
  });

  describe('with an EdDSA JWKS', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
      server = createServer((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('accepts a token signed by a key of the JWKS', async () => {
      const jwks = new Authenticator([], { jwksUrl: url });
      const token = await new SignJWT({ roles: ['admin'], tenants: ['tenant-b'] })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setSubject('root')
        .setExpirationTime('5m')
        .sign(privateKey);
      expect(await jwks.principalOf(token)).toEqual({ subject: 'root', roles: ['admin'], tenants: ['tenant-b'] });
      expect(await jwks.principalOf(await issued({ roles: ['admin'], tenants: ['tenant-b'] }))).toBeUndefined();
    });
  });
});

describe('a decision request', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const doc = {
    _id: 't1|e1',
    taskId: 't1',
    tenantId: 'tenant-a',
    escalationId: 'e1',
    status: 'pending',
    held: {
      escalationId: 'e1',
      taskId: 't1',
      actionId: 'a1',
      argsHash: 'a'.repeat(64),
      policyVersion: 'p1',
      expiresAt: '2030-01-01T01:00:00.000Z',
    },
    expiresAt: new Date('2030-01-01T01:00:00.000Z'),
  } as EscalationDoc;
  const approver = { subject: 'ana', roles: ['approver'] as const, tenants: ['tenant-a'] };
  const approve = { kind: 'approve' as const, argsHash: 'a'.repeat(64), policyVersion: 'p1' };
  const code = (...args: Parameters<typeof checkDecisionRequest>): string => {
    const r = checkDecisionRequest(...args);
    return r.ok ? `ok:${r.role}` : `${r.refusal.status}:${r.refusal.code}`;
  };

  it('is allowed to an approver or admin of its tenant, bound to what they saw', () => {
    expect(code(doc, approver, approve, now)).toBe('ok:approver');
    expect(code(doc, { ...approver, roles: ['viewer', 'admin'] }, approve, now)).toBe('ok:admin');
    expect(code(doc, approver, { kind: 'deny' }, now)).toBe('ok:approver');
  });

  it('is refused for every reason a person may not decide it', () => {
    expect(code(doc, { ...approver, roles: ['viewer'] }, approve, now)).toBe('403:forbidden');
    expect(code(doc, { ...approver, tenants: ['tenant-b'] }, approve, now)).toBe('404:not_found');
    expect(code(null, approver, approve, now)).toBe('404:not_found');
    expect(code(doc, approver, approve, new Date('2030-01-01T01:00:00Z'))).toBe('410:expired');
    expect(code({ ...doc, status: 'expired' }, approver, approve, now)).toBe('410:expired');
    expect(code({ ...doc, status: 'approved' }, approver, approve, now)).toBe('409:already_decided');
    expect(code({ ...doc, status: 'cancelled' }, approver, approve, now)).toBe('409:already_decided');
    expect(code({ ...doc, held: { ...doc.held, actionId: null } }, approver, approve, now)).toBe(
      '409:nothing_to_decide',
    );
    expect(code(doc, approver, { kind: 'approve' }, now)).toBe('422:unbound');
    expect(code(doc, approver, { ...approve, argsHash: 'b'.repeat(64) }, now)).toBe('409:args_changed');
    expect(code(doc, approver, { ...approve, policyVersion: 'p0' }, now)).toBe('409:stale_policy');
  });
});

describe("an admin's resume or cancel of a halted task", () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const halted = {
    _id: 't1|t1:planner:3:loop',
    taskId: 't1',
    tenantId: 'tenant-a',
    escalationId: 't1:planner:3:loop',
    status: 'pending',
    held: { escalationId: 't1:planner:3:loop', taskId: 't1', actionId: null, argsHash: null, policyVersion: 'p1' },
    halt: { eventId: 'halt-1', reasonCode: 'loop_detected' },
    expiresAt: new Date('2030-01-01T01:00:00.000Z'),
  } as unknown as EscalationDoc;
  const admin = { subject: 'root', roles: ['admin'] as const, tenants: ['tenant-a'] };
  const code = (...args: Parameters<typeof checkHaltRequest>): string => {
    const r = checkHaltRequest(...args);
    return r.ok ? 'ok' : `${r.refusal.status}:${r.refusal.code}`;
  };

  it('is allowed to an admin of the tenant while the halt is pending', () => {
    expect(code(halted, admin, now)).toBe('ok');
  });

  it('is refused to anyone else, for another tenant, once decided or expired, and for what a resume cannot mend', () => {
    expect(code(halted, { ...admin, roles: ['approver'] }, now)).toBe('403:forbidden');
    expect(code(halted, { ...admin, roles: ['viewer'] }, now)).toBe('403:forbidden');
    expect(code(halted, { ...admin, tenants: ['tenant-b'] }, now)).toBe('404:not_found');
    expect(code(null, admin, now)).toBe('404:not_found');
    expect(code(halted, admin, new Date('2030-01-01T01:00:00Z'))).toBe('410:expired');
    expect(code({ ...halted, status: 'resumed' }, admin, now)).toBe('409:already_decided');
    expect(code({ ...halted, status: 'cancelled' }, admin, now)).toBe('409:already_decided');
    const { halt: _halt, ...notHalted } = halted;
    expect(code(notHalted as EscalationDoc, admin, now)).toBe('409:not_halted');
    const expiredHalt = { ...halted, halt: { ...halted.halt!, reasonCode: 'escalation_expired' } };
    expect(code(expiredHalt, admin, now)).toBe('409:not_resumable');
  });
});

describe('the service configuration', () => {
  const key = generateSigningKeyPair('esc-1').signingKeyText;
  it('needs a signing key and a way to authenticate people, and keeps secrets out of events', () => {
    expect(() => escalationConfigFrom({ ESCALATION_SIGNING_KEY: key })).toThrow(/no way to authenticate people/);
    expect(() =>
      escalationConfigFrom({ ESCALATION_SIGNING_KEY: 'k:bm90LWEta2V5', ESCALATION_JWT_HS256_SECRET: secret }),
    ).toThrow(/ESCALATION_SIGNING_KEY: signing key k: not a PKCS#8/);
    expect(() =>
      escalationConfigFrom({
        ESCALATION_SIGNING_KEY: key,
        ESCALATION_JWT_HS256_SECRET: secret,
        ESCALATION_WEBHOOK_URLS: 'http://hooks.example/x',
      }),
    ).toThrow(/ESCALATION_WEBHOOK_SECRET/);
    const config = escalationConfigFrom({ ESCALATION_SIGNING_KEY: key, ESCALATION_JWT_HS256_SECRET: secret });
    expect(config.httpPort).toBe(8090);
    expect(config.runtime.secretLiterals).toContain(secret);
    expect(config.runtime.secretLiterals).toContain(key.slice(key.indexOf(':') + 1));
  });
});
