import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { JwtSettings } from './config.js';

/** What a person may do: viewers see, approvers decide, admins decide and resume or cancel halted tasks. */
export const Roles = ['viewer', 'approver', 'admin'] as const;
/** A person's role. */
export type Role = (typeof Roles)[number];

/** An authenticated person: who, in which roles, for which tenants. */
export interface Principal {
  readonly subject: string;
  readonly roles: readonly Role[];
  readonly tenants: readonly string[];
}

/** A static bearer token of the local stack's token file. */
export interface StaticToken extends Principal {
  readonly token: string;
}

const Claims = z.object({
  sub: z.string().min(1).max(200),
  roles: z.array(z.string()).default([]),
  tenants: z.array(z.string().min(1).max(200)).default([]),
});

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || !/^Bearer\s+/i.test(header)) return undefined;
  const token = header.replace(/^Bearer\s+/i, '').trim();
  return token.length > 0 ? token : undefined;
}

/**
 * Turns a bearer token into a person: a static token (compared in constant time against every configured one), or
 * an OIDC-compatible JWT (HS256 secret or a JWKS; issuer and audience checked when configured) whose claims carry
 * `sub`, `roles` and `tenants`. Unknown roles are dropped; a person without a known role or tenant is nobody.
 */
export class Authenticator {
  private readonly statics: ReadonlyArray<{ readonly digest: Buffer; readonly principal: Principal }>;
  private readonly key: Uint8Array | JWTVerifyGetKey | undefined;

  constructor(
    staticTokens: readonly StaticToken[],
    private readonly jwt?: JwtSettings,
  ) {
    this.statics = staticTokens.map((t) => ({
      digest: digest(t.token),
      principal: { subject: t.subject, roles: t.roles, tenants: t.tenants },
    }));
    this.key =
      jwt?.hs256Secret !== undefined
        ? new TextEncoder().encode(jwt.hs256Secret)
        : jwt?.jwksUrl !== undefined
          ? createRemoteJWKSet(new URL(jwt.jwksUrl))
          : undefined;
  }

  /** The person a token belongs to, or undefined. */
  async principalOf(token: string | undefined): Promise<Principal | undefined> {
    if (token === undefined) return undefined;
    const given = digest(token);
    let found: Principal | undefined;
    for (const s of this.statics) if (timingSafeEqual(s.digest, given) && found === undefined) found = s.principal;
    if (found !== undefined) return found;
    if (this.key === undefined || token.split('.').length !== 3) return undefined;
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.jwt?.hs256Secret !== undefined ? ['HS256'] : ['EdDSA', 'ES256', 'RS256'],
        ...(this.jwt?.issuer === undefined ? {} : { issuer: this.jwt.issuer }),
        ...(this.jwt?.audience === undefined ? {} : { audience: this.jwt.audience }),
      };
      payload =
        this.key instanceof Uint8Array
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, this.key, options)).payload;
    } catch {
      return undefined; // any invalid, expired or foreign token authenticates nobody
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) return undefined;
    const roles = claims.data.roles.filter((r): r is Role => (Roles as readonly string[]).includes(r));
    if (roles.length === 0 || claims.data.tenants.length === 0) return undefined;
    return { subject: claims.data.sub, roles, tenants: claims.data.tenants };
  }
}

/** The strongest of a person's roles that allows deciding, if any. */
export function decidingRole(principal: Principal): Role | undefined {
  if (principal.roles.includes('admin')) return 'admin';
  if (principal.roles.includes('approver')) return 'approver';
  return undefined;
}
