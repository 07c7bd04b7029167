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

const apiKeys = z
  .string()
  .min(1)
  .transform((s, ctx) => {
    const out: Array<{ tenantId: string; key: string }> = [];
    for (const pair of s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = pair.indexOf(':');
      const tenantId = pair.slice(0, at).trim();
      const key = pair.slice(at + 1).trim();
      if (at <= 0 || key.length < 16) {
        ctx.addIssue({ code: 'custom', message: 'expected tenant:key pairs, each key at least 16 characters' });
        return z.NEVER;
      }
      out.push({ tenantId, key });
    }
    return out;
  });

/** The auditor's environment: the worker settings plus the query API, checkpoints and verification timing. */
export const AuditorEnv = WorkerEnv.extend({
  /** `tenantA:key1,tenantB:key2`: one API key (at least 16 characters) per tenant. */
  AUDITOR_API_KEYS: apiKeys,
  /**
   * `tenantA:key1,...`: API keys with the personal-data role (ADR 0026), whose timelines show sealed personal data
   * opened (an erased value still reads `[erased]`). Other keys see `[sealed: <subject>]`. None by default.
   */
  AUDITOR_PERSONAL_DATA_KEYS: apiKeys.optional(),
  AUDITOR_API_PORT: z.coerce.number().int().min(0).max(65_535).default(8090),
  AUDITOR_API_HOST: z.string().default('127.0.0.1'),
  /** HMAC-SHA256 key that signs checkpoints (at least 32 characters). */
  AUDITOR_CHECKPOINT_KEY: z.string().min(32),
  AUDITOR_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * A task quiet for this long with a referenced-but-absent event is reported as missing (alert), once the log has
   * also been read past its end as seen after the task's last event (so the event cannot be on a partition read late).
   */
  AUDITOR_SETTLE_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  /** Tasks kept in memory for incremental verification; older settled ones reload from MongoDB when they move. */
  AUDITOR_MAX_TASKS_IN_MEMORY: z.coerce.number().int().min(10).max(10_000_000).default(20_000),
  /**
   * Wire envelopes kept in memory, by the tasks moved most recently, so that GET /v1/tasks/{id}/verify answers
   * without reading MongoDB (FerretDB scans a collection per lookup); tasks past it are read from MongoDB.
   */
  AUDITOR_VERIFY_CACHE_MB: z.coerce.number().int().min(0).max(65_536).default(256),
  /**
   * Task summaries (audit_tasks) and labelled points are written behind the events, coalesced, at most this often;
   * the consumed offsets are committed once the summaries of what they cover are written (ADR 0030).
   */
  AUDITOR_TASK_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(250),
});
export type AuditorEnv = z.infer<typeof AuditorEnv>;

/** Everything the auditor needs, parsed and checked. */
export interface AuditorConfig {
  readonly runtime: WorkerRuntimeConfig;
  /** Tracing (OTEL_* variables) and metric-label settings; tracing off when absent. */
  readonly telemetry?: TelemetryConfig;
  readonly apiKeys: ReadonlyArray<{ readonly tenantId: string; readonly key: string }>;
  /** API keys with the personal-data role: they see sealed values opened (none by default). */
  readonly personalDataKeys?: ReadonlyArray<{ readonly tenantId: string; readonly key: string }>;
  readonly apiPort: number;
  readonly apiHost: string;
  readonly checkpointKey: string;
  readonly checkpointIntervalMs: number;
  readonly settleMs: number;
  readonly maxTasksInMemory: number;
  /** Bytes of wire envelopes kept in memory for verification (default DEFAULT_VERIFY_CACHE_BYTES). */
  readonly verifyCacheBytes?: number;
  /** AUDITOR_TASK_FLUSH_MS; default DEFAULT_TASK_FLUSH_MS. */
  readonly taskFlushMs?: number;
}

/** The auditor's configuration from an environment (the only reader of process.env is main.ts via this). */
export function auditorConfigFrom(env: Readonly<Record<string, string | undefined>> = process.env): AuditorConfig {
  const parsed = loadConfig(AuditorEnv, env);
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: runtimeConfigFrom(parsed),
    apiKeys: parsed.AUDITOR_API_KEYS,
    personalDataKeys: parsed.AUDITOR_PERSONAL_DATA_KEYS ?? [],
    apiPort: parsed.AUDITOR_API_PORT,
    apiHost: parsed.AUDITOR_API_HOST,
    checkpointKey: parsed.AUDITOR_CHECKPOINT_KEY,
    checkpointIntervalMs: parsed.AUDITOR_CHECKPOINT_INTERVAL_MS,
    settleMs: parsed.AUDITOR_SETTLE_MS,
    maxTasksInMemory: parsed.AUDITOR_MAX_TASKS_IN_MEMORY,
    verifyCacheBytes: parsed.AUDITOR_VERIFY_CACHE_MB * 1024 * 1024,
    taskFlushMs: parsed.AUDITOR_TASK_FLUSH_MS,
  };
}
