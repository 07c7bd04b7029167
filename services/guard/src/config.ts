import { readFileSync } from 'node:fs';
import {
  jsonEnv,
  loadConfig,
  runtimeConfigFrom,
  signingKeyEnv,
  WorkerEnv,
  type WorkerRuntimeConfig,
  TelemetryEnv,
  telemetryConfigFrom,
  type TelemetryConfig,
} from '@warden/runtime';
import { MagnitudeLimits, type SigningKey } from '@warden/contracts';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { z } from 'zod';

/** Per-tenant caps on the magnitude limits a task may ask for: a default and per-tenant entries. */
export const TenantCapsSetting = z
  .object({ default: MagnitudeLimits.optional(), tenants: z.record(z.string().min(1), MagnitudeLimits).default({}) })
  .strict();
export type TenantCapsSetting = z.infer<typeof TenantCapsSetting>;

/** The caps of a tenant: its own entry, else the default; undefined when neither is set. */
export function capsLookup(setting: TenantCapsSetting): (tenantId: string) => MagnitudeLimits | undefined {
  return (tenantId) => setting.tenants[tenantId] ?? setting.default;
}

/** The guard's environment: the worker's plus its policy file and escalation expiry. */
export const GuardEnv = WorkerEnv.extend({
  GUARD_POLICY_FILE: z.string().min(1).optional(),
  GUARD_CUSTOMER_COLLECTIONS: z
    .string()
    .default('customers')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  GUARD_ESCALATION_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(30 * 24 * 3_600_000)
    .default(24 * 3_600_000),
  /** JSON {"default"?: MagnitudeLimits, "tenants"?: {tenantId: MagnitudeLimits}}; unset: a task's limits hold. */
  GUARD_TENANT_CAPS: jsonEnv(TenantCapsSetting).optional(),
  /** The share of auto-approved actions sent to a person for review instead (ADR 0025); 0 samples none. */
  GUARD_REVIEW_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** The salt of the review sample's hash: another salt picks another (equally random) sample. */
  GUARD_REVIEW_SAMPLE_SALT: z.string().min(1).max(200).default('warden-review'),
  /** How long start may take to read the published calibrations to their end. */
  GUARD_CALIBRATION_LOAD_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * The guard's Ed25519 private key, `keyId:base64(PKCS#8 DER)`: it signs every verdict (ADR 0018). Only the guard
   * holds it; executors get the public half (WARDEN_GUARD_PUBLIC_KEYS). Unset: verdicts go unsigned (refused).
   */
  GUARD_SIGNING_KEY: signingKeyEnv(),
});

/** The guard's configuration. */
export interface GuardConfig {
  readonly runtime: WorkerRuntimeConfig;
  /** Tracing (OTEL_* variables) and metric-label settings; tracing off when absent. */
  readonly telemetry?: TelemetryConfig;
  /** The policy document (parsed JSON), from GUARD_POLICY_FILE or the bundled default. */
  readonly policySource: unknown;
  readonly policyFile: string;
  readonly escalationTtlMs: number;
  readonly customerCollections: readonly string[];
  readonly tenantCaps?: TenantCapsSetting;
  readonly reviewSample: { readonly rate: number; readonly salt: string };
  readonly calibrationLoadTimeoutMs: number;
  /** GUARD_SIGNING_KEY: signs every verdict. */
  readonly signingKey?: SigningKey;
}

/** Reads the guard's configuration from the environment (the only place the guard reads process.env). */
export function loadGuardConfig(env: Readonly<Record<string, string | undefined>> = process.env): GuardConfig {
  const parsed = loadConfig(GuardEnv, env);
  const policyFile = parsed.GUARD_POLICY_FILE ?? DEFAULT_POLICY_FILE;
  const runtime = runtimeConfigFrom(parsed);
  const keyText = env.GUARD_SIGNING_KEY?.trim() ?? '';
  // The private key's text never enters an event: it is one of the redactor's literals.
  const secret = keyText.slice(keyText.indexOf(':') + 1);
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: secret === '' ? runtime : { ...runtime, secretLiterals: [...(runtime.secretLiterals ?? []), secret] },
    policySource: JSON.parse(readFileSync(policyFile, 'utf8')) as unknown,
    policyFile,
    escalationTtlMs: parsed.GUARD_ESCALATION_TTL_MS,
    customerCollections: parsed.GUARD_CUSTOMER_COLLECTIONS,
    ...(parsed.GUARD_TENANT_CAPS === undefined ? {} : { tenantCaps: parsed.GUARD_TENANT_CAPS }),
    reviewSample: { rate: parsed.GUARD_REVIEW_SAMPLE_RATE, salt: parsed.GUARD_REVIEW_SAMPLE_SALT },
    calibrationLoadTimeoutMs: parsed.GUARD_CALIBRATION_LOAD_TIMEOUT_MS,
    ...(parsed.GUARD_SIGNING_KEY === undefined ? {} : { signingKey: parsed.GUARD_SIGNING_KEY }),
  };
}
