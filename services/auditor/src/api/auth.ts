import { createHash, timingSafeEqual } from 'node:crypto';

/** Tenant API keys, checked in constant time. */
export class TenantKeys {
  private readonly entries: ReadonlyArray<{ readonly tenantId: string; readonly digest: Buffer }>;

  constructor(keys: ReadonlyArray<{ readonly tenantId: string; readonly key: string }>) {
    this.entries = keys.map((k) => ({ tenantId: k.tenantId, digest: digest(k.key) }));
  }

  /**
   * The tenant a key belongs to, or undefined. Every configured key is compared (sha256 digests, so lengths match,
   * with timingSafeEqual), so the time taken says nothing about which key, or how much of one, matched.
   */
  tenantOf(key: string | undefined): string | undefined {
    if (key === undefined || key.length === 0) return undefined;
    const given = digest(key);
    let tenant: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, given) && tenant === undefined) tenant = e.tenantId;
    return tenant;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The key of an `Authorization: Bearer <key>` or `x-api-key: <key>` header. */
export function keyFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}
