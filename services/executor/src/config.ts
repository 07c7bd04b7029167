import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { VerdictTrust } from '@warden/contracts';
import {
  loadConfig,
  runtimeConfigFrom,
  sealPatternsEnv,
  verifyingKeysEnv,
  WorkerEnv,
  type WorkerRuntimeConfig,
  TelemetryEnv,
  telemetryConfigFrom,
  type TelemetryConfig,
} from '@warden/runtime';
import { z } from 'zod';
import type { BreakerSettings } from './breakers.js';
import { isAddressRange, type DemoToolStores } from '@warden/tools';

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string().min(1)));

/** How long an approval waits for its task's TaskSubmitted by default (EXECUTOR_TASK_WAIT_MS). */
export const DEFAULT_TASK_WAIT_MS = 3_000;
/** How long the record of a completed or failed task is kept by default (EXECUTOR_ENDED_TASK_RETENTION_MS): 7 days. */
export const DEFAULT_ENDED_TASK_RETENTION_MS = 7 * 24 * 3_600_000;

/** The executor's environment: the worker's plus tool timeouts, breaker thresholds and the tools' stores. */
export const ExecutorEnv = WorkerEnv.extend({
  EXECUTOR_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/)
    .optional(),
  EXECUTOR_TOOL_TIMEOUT_MS: ms(1, 600_000).default(10_000),
  EXECUTOR_LEASE_GRACE_MS: ms(0, 600_000).default(2_000),
  EXECUTOR_MAX_DISPATCHES: ms(1, 20).default(3),
  EXECUTOR_ESCALATION_TTL_MS: ms(60_000, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  EXECUTOR_BREAKER_ERROR_PERCENT: ms(1, 100).default(50),
  EXECUTOR_BREAKER_WINDOW_MS: ms(1_000, 3_600_000).default(60_000),
  EXECUTOR_BREAKER_BUCKETS: ms(1, 600).default(10),
  EXECUTOR_BREAKER_VOLUME: ms(1, 100_000).default(5),
  EXECUTOR_BREAKER_CONSECUTIVE: ms(1, 100_000).default(5),
  EXECUTOR_BREAKER_RESET_MS: ms(100, 3_600_000).default(30_000),
  EXECUTOR_TOOLS: list.optional(),
  EXECUTOR_CUSTOMER_COLLECTIONS: list.default(['customers']),
  EXECUTOR_KNOWLEDGE_COLLECTION: z.string().min(1).max(120).default('knowledge'),
  EXECUTOR_WORKSPACE_ROOT: z.string().min(1).default('./workspace'),
  /** Hosts http.get may reach (`name` or `name:port`); none by default. */
  EXECUTOR_HTTP_ALLOWLIST: list.default([]),
  /**
   * CIDR ranges of non-public addresses (loopback, private, link-local, ...) http.get may connect to, e.g.
   * `127.0.0.1/32` for a local test server; none by default, so an allowed name that resolves inside them is refused.
   */
  EXECUTOR_HTTP_ALLOWED_RANGES: list
    .default([])
    .refine((ranges) => ranges.every(isAddressRange), 'expected CIDR ranges, e.g. 127.0.0.1/32,fd00::/8'),
  EXECUTOR_HTTP_MAX_BYTES: ms(1, 64 * 1024 * 1024).default(1024 * 1024),
  EXECUTOR_TASK_WAIT_MS: ms(0, 600_000).default(DEFAULT_TASK_WAIT_MS),
  /**
   * How long the executor keeps the record of a completed or failed task (ADR 0028), which refuses its late approvals
   * as task_ended; then it is deleted (a late approval is refused as task_unknown). 0 keeps them for ever.
   */
  EXECUTOR_ENDED_TASK_RETENTION_MS: ms(0, 365 * 24 * 3_600_000).default(DEFAULT_ENDED_TASK_RETENTION_MS),
  /**
   * The guard's public keys, `keyId:base64(Ed25519 SPKI DER),...`: an ActionApproved runs only when signed by one of
   * them (ADR 0018). Unset: every verdict is refused, unless WARDEN_INSECURE_UNSIGNED_DECISIONS=true.
   */
  WARDEN_GUARD_PUBLIC_KEYS: verifyingKeysEnv(),
  /** Seal the personal data of tool results before the log (ADR 0026): a key per data subject (default), per tenant, or off. */
  EXECUTOR_SEALING: z.enum(['off', 'subject', 'tenant']).default('subject'),
  /** With sealing on: any other string of a result matching one of these (a JSON array of regexes) is sealed too. */
  EXECUTOR_SEAL_PATTERNS: sealPatternsEnv(),
});

/** Settings of the executor itself (besides the runtime's and the tools' stores). */
export interface ExecutorSettings {
  readonly replicaId: string;
  readonly defaultTimeoutMs: number;
  readonly leaseGraceMs: number;
  readonly maxDispatches: number;
  readonly escalationTtlMs: number;
  readonly breakers: BreakerSettings;
  /** Names of the tools to load; all demo tools when absent. */
  readonly enabledTools?: readonly string[];
  /**
   * Which keys the guard's verdicts must be signed with, or the insecure development setting
   * (WARDEN_GUARD_PUBLIC_KEYS, WARDEN_INSECURE_UNSIGNED_DECISIONS). Absent: no keys, every verdict refused.
   */
  readonly verdictTrust?: VerdictTrust;
  /** How long an approval waits for its task's TaskSubmitted (default DEFAULT_TASK_WAIT_MS). */
  readonly taskWaitMs?: number;
  /** How long a completed or failed task's record is kept (default DEFAULT_ENDED_TASK_RETENTION_MS; 0: for ever). */
  readonly endedTaskRetentionMs?: number;
  /** Sealing of personal data in results (ADR 0026); absent: off. */
  readonly sealing?: { readonly keyScope: 'subject' | 'tenant'; readonly patterns: readonly RegExp[] };
}

/** The executor's configuration. */
export interface ExecutorConfig {
  readonly runtime: WorkerRuntimeConfig;
  /** Tracing (OTEL_* variables) and metric-label settings; tracing off when absent. */
  readonly telemetry?: TelemetryConfig;
  readonly settings: ExecutorSettings;
  readonly stores: Omit<DemoToolStores, 'db'>;
}

/** Reads the executor's configuration from the environment (the only place the executor reads process.env). */
export function loadExecutorConfig(env: Readonly<Record<string, string | undefined>> = process.env): ExecutorConfig {
  const e = loadConfig(ExecutorEnv, env);
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: runtimeConfigFrom(e),
    settings: {
      replicaId: e.EXECUTOR_REPLICA_ID ?? `${hostname()}-${process.pid}`,
      defaultTimeoutMs: e.EXECUTOR_TOOL_TIMEOUT_MS,
      leaseGraceMs: e.EXECUTOR_LEASE_GRACE_MS,
      maxDispatches: e.EXECUTOR_MAX_DISPATCHES,
      escalationTtlMs: e.EXECUTOR_ESCALATION_TTL_MS,
      breakers: {
        errorThresholdPercent: e.EXECUTOR_BREAKER_ERROR_PERCENT,
        rollingWindowMs: e.EXECUTOR_BREAKER_WINDOW_MS,
        rollingBuckets: e.EXECUTOR_BREAKER_BUCKETS,
        volumeThreshold: e.EXECUTOR_BREAKER_VOLUME,
        consecutiveFailures: e.EXECUTOR_BREAKER_CONSECUTIVE,
        resetTimeoutMs: e.EXECUTOR_BREAKER_RESET_MS,
      },
      ...(e.EXECUTOR_TOOLS === undefined ? {} : { enabledTools: e.EXECUTOR_TOOLS }),
      verdictTrust: { keys: e.WARDEN_GUARD_PUBLIC_KEYS, insecureAcceptUnsigned: e.WARDEN_INSECURE_UNSIGNED_DECISIONS },
      taskWaitMs: e.EXECUTOR_TASK_WAIT_MS,
      endedTaskRetentionMs: e.EXECUTOR_ENDED_TASK_RETENTION_MS,
      ...(e.EXECUTOR_SEALING === 'off'
        ? {}
        : { sealing: { keyScope: e.EXECUTOR_SEALING, patterns: e.EXECUTOR_SEAL_PATTERNS } }),
    },
    stores: {
      customerCollections: e.EXECUTOR_CUSTOMER_COLLECTIONS,
      knowledgeCollection: e.EXECUTOR_KNOWLEDGE_COLLECTION,
      workspaceRoot: resolve(e.EXECUTOR_WORKSPACE_ROOT),
      httpAllowlist: e.EXECUTOR_HTTP_ALLOWLIST,
      httpAllowedRanges: e.EXECUTOR_HTTP_ALLOWED_RANGES,
      httpMaxBytes: e.EXECUTOR_HTTP_MAX_BYTES,
    },
  };
}
