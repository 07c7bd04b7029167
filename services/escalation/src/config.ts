import { readFileSync } from 'node:fs';
import { parseSigningKey, type SigningKey } from '@warden/contracts';
import {
  WorkerEnv,
  loadConfig,
  runtimeConfigFrom,
  type WorkerRuntimeConfig,
  TelemetryEnv,
  telemetryConfigFrom,
  type TelemetryConfig,
} from '@warden/runtime';
import { z } from 'zod';
import { Roles, type StaticToken } from './auth.js';
import { EscalationConfigError } from './errors.js';
import type { WebhookSettings } from './webhooks.js';

const StaticTokens = z.array(
  z
    .object({
      token: z.string().min(16),
      subject: z.string().min(1).max(200),
      roles: z.array(z.enum(Roles)).min(1),
      tenants: z.array(z.string().min(1).max(200)).min(1),
    })
    .strict(),
);

/** The escalation service's environment: the worker settings plus the people's API, its auth and the signing key. */
export const EscalationEnv = WorkerEnv.extend({
  /** The people's API and page. */
  ESCALATION_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8090),
  ESCALATION_HTTP_HOST: z.string().default('127.0.0.1'),
  /** `keyId:base64(Ed25519 PKCS#8 DER)`: signs every decision; workers hold its public key. */
  ESCALATION_SIGNING_KEY: z.string().min(1),
  /** A JSON file of static bearer tokens `[{token, subject, roles, tenants}]` (the local stack's people). */
  ESCALATION_TOKENS_FILE: z.string().min(1).optional(),
  /** OIDC-compatible JWTs signed with HS256 under this secret (at least 32 characters)... */
  ESCALATION_JWT_HS256_SECRET: z.string().min(32).optional(),
  /** ...or with a key of this JWKS (EdDSA, ES256, RS256). */
  ESCALATION_JWT_JWKS_URL: z.url().optional(),
  ESCALATION_JWT_ISSUER: z.string().min(1).optional(),
  ESCALATION_JWT_AUDIENCE: z.string().min(1).optional(),
  /** The longest an approval stays valid after it is given (never past its escalation's expiry). */
  ESCALATION_DECISION_TTL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(900_000),
  /** Comma-separated URLs that receive new escalations and alerts (signed webhooks). */
  ESCALATION_WEBHOOK_URLS: z
    .string()
    .optional()
    .transform((s) =>
      (s ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url())),
  /** The HMAC key of webhook signatures (at least 32 characters); required with webhook URLs. */
  ESCALATION_WEBHOOK_SECRET: z.string().min(32).optional(),
  ESCALATION_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  ESCALATION_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  ESCALATION_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** How often pending escalations are checked for expiry. */
  ESCALATION_EXPIRY_CHECK_MS: z.coerce.number().int().min(50).max(600_000).default(1_000),
  /** How long a task's budget and breaker state, read from the planner's state when a person asks, is reused. */
  ESCALATION_TASK_VIEW_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  /** How often a replica looks for escalations other replicas changed, for its live clients (0: never). */
  ESCALATION_LIVE_POLL_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
});
export type EscalationEnv = z.infer<typeof EscalationEnv>;

/** How bearer JWTs are checked. */
export interface JwtSettings {
  readonly hs256Secret?: string;
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Everything the escalation service needs, parsed and checked. */
export interface EscalationConfig {
  readonly runtime: WorkerRuntimeConfig;
  /** Tracing (OTEL_* variables) and metric-label settings; tracing off when absent. */
  readonly telemetry?: TelemetryConfig;
  readonly httpPort: number;
  readonly httpHost: string;
  readonly signingKey: SigningKey;
  readonly staticTokens: readonly StaticToken[];
  readonly jwt?: JwtSettings;
  readonly decisionTtlMs: number;
  readonly expiryCheckMs: number;
  /** How long a task's budget and breaker view is reused (0: read at every request). */
  readonly taskViewCacheMs?: number;
  /** How often other replicas' changes are looked for, for live clients (0 or absent: never; one replica). */
  readonly livePollMs?: number;
  readonly webhooks?: WebhookSettings;
}

/** The service's configuration from an environment (the only place that reads process.env). */
export function escalationConfigFrom(
  env: Readonly<Record<string, string | undefined>> = process.env,
): EscalationConfig {
  const parsed = loadConfig(EscalationEnv, env);
  let signingKey: SigningKey;
  try {
    signingKey = parseSigningKey(parsed.ESCALATION_SIGNING_KEY);
  } catch (error) {
    throw new EscalationConfigError(`ESCALATION_SIGNING_KEY: ${(error as Error).message}`, { cause: error });
  }
  let staticTokens: StaticToken[] = [];
  if (parsed.ESCALATION_TOKENS_FILE !== undefined) {
    const file = parsed.ESCALATION_TOKENS_FILE;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new EscalationConfigError(`ESCALATION_TOKENS_FILE ${file}: ${(error as Error).message}`, { cause: error });
    }
    const tokens = StaticTokens.safeParse(json);
    if (!tokens.success) {
      const issues = tokens.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new EscalationConfigError(`ESCALATION_TOKENS_FILE ${file}: ${issues}`);
    }
    staticTokens = tokens.data;
  }
  const jwt: JwtSettings = {
    ...(parsed.ESCALATION_JWT_HS256_SECRET === undefined ? {} : { hs256Secret: parsed.ESCALATION_JWT_HS256_SECRET }),
    ...(parsed.ESCALATION_JWT_JWKS_URL === undefined ? {} : { jwksUrl: parsed.ESCALATION_JWT_JWKS_URL }),
    ...(parsed.ESCALATION_JWT_ISSUER === undefined ? {} : { issuer: parsed.ESCALATION_JWT_ISSUER }),
    ...(parsed.ESCALATION_JWT_AUDIENCE === undefined ? {} : { audience: parsed.ESCALATION_JWT_AUDIENCE }),
  };
  const hasJwt = jwt.hs256Secret !== undefined || jwt.jwksUrl !== undefined;
  if (staticTokens.length === 0 && !hasJwt) {
    throw new EscalationConfigError(
      'no way to authenticate people: set ESCALATION_TOKENS_FILE, ESCALATION_JWT_HS256_SECRET or ESCALATION_JWT_JWKS_URL',
    );
  }
  const urls = parsed.ESCALATION_WEBHOOK_URLS;
  if (urls.length > 0 && parsed.ESCALATION_WEBHOOK_SECRET === undefined)
    throw new EscalationConfigError('ESCALATION_WEBHOOK_URLS needs ESCALATION_WEBHOOK_SECRET to sign deliveries');
  const runtime = runtimeConfigFrom(parsed);
  const secret = parsed.ESCALATION_SIGNING_KEY.slice(parsed.ESCALATION_SIGNING_KEY.indexOf(':') + 1);
  const literals = [
    secret,
    ...staticTokens.map((t) => t.token),
    ...(jwt.hs256Secret === undefined ? [] : [jwt.hs256Secret]),
  ];
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: { ...runtime, secretLiterals: [...(runtime.secretLiterals ?? []), ...literals] },
    httpPort: parsed.ESCALATION_HTTP_PORT,
    httpHost: parsed.ESCALATION_HTTP_HOST,
    signingKey,
    staticTokens,
    ...(hasJwt ? { jwt } : {}),
    decisionTtlMs: parsed.ESCALATION_DECISION_TTL_MS,
    expiryCheckMs: parsed.ESCALATION_EXPIRY_CHECK_MS,
    taskViewCacheMs: parsed.ESCALATION_TASK_VIEW_CACHE_MS,
    livePollMs: parsed.ESCALATION_LIVE_POLL_MS,
    ...(urls.length === 0 || parsed.ESCALATION_WEBHOOK_SECRET === undefined
      ? {}
      : {
          webhooks: {
            urls,
            secret: parsed.ESCALATION_WEBHOOK_SECRET,
            maxAttempts: parsed.ESCALATION_WEBHOOK_MAX_ATTEMPTS,
            backoffBaseMs: parsed.ESCALATION_WEBHOOK_BACKOFF_MS,
            timeoutMs: parsed.ESCALATION_WEBHOOK_TIMEOUT_MS,
          },
        }),
  };
}
