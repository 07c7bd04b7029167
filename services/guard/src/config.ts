import { readFileSync } from 'node:fs';
import {
  jsonEnv,
  loadConfig,
  runtimeConfigFrom,
  WorkerEnv,
  type WorkerRuntimeConfig,
  TelemetryEnv,
  telemetryConfigFrom,
  type TelemetryConfig,
} from '@warden/runtime';
import { MagnitudeLimits } from '@warden/contracts';
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
}

/** Reads the guard's configuration from the environment (the only place the guard reads process.env). */
export function loadGuardConfig(env: Readonly<Record<string, string | undefined>> = process.env): GuardConfig {
  const parsed = loadConfig(GuardEnv, env);
  const policyFile = parsed.GUARD_POLICY_FILE ?? DEFAULT_POLICY_FILE;
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: runtimeConfigFrom(parsed),
    policySource: JSON.parse(readFileSync(policyFile, 'utf8')) as unknown,
    policyFile,
    escalationTtlMs: parsed.GUARD_ESCALATION_TTL_MS,
    customerCollections: parsed.GUARD_CUSTOMER_COLLECTIONS,
    ...(parsed.GUARD_TENANT_CAPS === undefined ? {} : { tenantCaps: parsed.GUARD_TENANT_CAPS }),
  };
}
