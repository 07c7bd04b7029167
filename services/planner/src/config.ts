import { MAX_ID_CHARS } from '@warden/contracts';
import {
  jsonEnv,
  DEFAULT_TOPIC_PARTITIONS,
  loadConfig,
  runtimeConfigFrom,
  sealPatternsEnv,
  WorkerEnv,
  type WorkerRuntimeConfig,
  TelemetryEnv,
  telemetryConfigFrom,
  type TelemetryConfig,
} from '@warden/runtime';
import { z } from 'zod';
import type { ModelPrice, TaskCeilings } from './decide/budget.js';
import type { LoopSettings, WindowSettings } from './decide/types.js';
import type { OpenAiModelSettings } from './model/openai-model.js';
import { DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY } from './tenant-budget-log.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);

const Price = z.object({
  model: z.string().min(1).max(MAX_ID_CHARS),
  inputUsdPerMTok: z.number().nonnegative().finite(),
  outputUsdPerMTok: z.number().nonnegative().finite(),
});
const TenantLimit = z.object({ tokens: z.number().int().positive(), costUsd: z.number().positive().finite() });

/** The default price table: the scripted model is priced like a small hosted model, so budgets are exercised. */
export const DEFAULT_PRICES: readonly ModelPrice[] = [
  { model: 'scripted:*', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
  { model: 'scripted/*', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
  { model: 'gpt-4o-mini', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6 },
  { model: 'gpt-4o', inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 },
  { model: 'gpt-4.1-mini', inputUsdPerMTok: 0.4, outputUsdPerMTok: 1.6 },
  { model: 'gpt-4.1', inputUsdPerMTok: 2, outputUsdPerMTok: 8 },
];

/** How long a completed or failed task's record is kept by default (PLANNER_ENDED_TASK_RETENTION_MS): 7 days. */
export const DEFAULT_ENDED_TASK_RETENTION_MS = 7 * 24 * 3_600_000;
/** How often task views are written by default (PLANNER_TASK_VIEW_FLUSH_MS). */
export const DEFAULT_TASK_VIEW_FLUSH_MS = 500;
/** Most task views waiting to be written by default (PLANNER_TASK_VIEW_MAX_PENDING). */
export const DEFAULT_TASK_VIEW_MAX_PENDING = 50_000;
/**
 * The least a planner takes of a tenant's budget at a time by default (PLANNER_TENANT_LEASE_TOKENS and
 * _COST_USD, ADR 0031): a few model calls' worth at the default completion size, small beside the default tenant
 * limits (0.5%), so that allowances held by other replicas rarely cause an early refusal.
 */
export const DEFAULT_TENANT_LEASE_TOKENS = 50_000;
/** See DEFAULT_TENANT_LEASE_TOKENS. */
export const DEFAULT_TENANT_LEASE_COST_USD = 0.5;
/** How long an allowance may go unused before it is given back, by default (PLANNER_TENANT_LEASE_IDLE_MS). */
export const DEFAULT_TENANT_LEASE_IDLE_MS = 10_000;

/**
 * The planner's environment: the worker's, the model endpoint, the price table, and finite defaults for the model
 * breaker, retries, loops, the context window, task ceilings and tenant budgets.
 */
export const PlannerEnv = WorkerEnv.extend({
  /** Any OpenAI-compatible endpoint; the bundled scripted model by default. */
  OPENAI_BASE_URL: z.url().default('http://127.0.0.1:8787/v1'),
  /** With no key the scripted model is assumed (it accepts any). */
  OPENAI_API_KEY: z.string().min(1).default('scripted'),
  PLANNER_MODEL: z.string().min(1).max(MAX_ID_CHARS).default('scripted:refund-happy'),
  /** JSON array of {model, inputUsdPerMTok, outputUsdPerMTok}; "prefix*" matches by prefix. Unknown model: no call. */
  PLANNER_PRICES: jsonEnv(z.array(Price).min(1)).optional(),
  PLANNER_MODEL_TIMEOUT_MS: int(100, 600_000).default(60_000),
  PLANNER_MODEL_MAX_RETRIES: int(0, 20).default(5),
  PLANNER_MODEL_RETRY_BASE_MS: int(1, 60_000).default(250),
  PLANNER_MODEL_RETRY_MAX_MS: int(1, 600_000).default(10_000),
  PLANNER_MODEL_LOGPROBS: z.enum(['true', 'false']).default('true'),
  /** Stream replies (SSE) and assemble them; counted like the rest (server usage, else the planner's own count). */
  PLANNER_STREAM: z.enum(['true', 'false']).default('false'),
  PLANNER_MODEL_BREAKER_ERROR_PERCENT: int(1, 100).default(50),
  PLANNER_MODEL_BREAKER_VOLUME: int(1, 10_000).default(5),
  PLANNER_MODEL_BREAKER_WINDOW_MS: int(1_000, 3_600_000).default(60_000),
  PLANNER_MODEL_BREAKER_RESET_MS: int(100, 3_600_000).default(30_000),
  PLANNER_MAX_COMPLETION_TOKENS: int(16, 1_000_000).default(4_096),
  PLANNER_MAX_ANSWER_CHARS: int(1, 200_000).default(20_000),
  PLANNER_WINDOW_TURNS: int(1, 1_000).default(8),
  PLANNER_TOOL_OUTPUT_MAX_TOKENS: int(64, 1_000_000).default(1_000),
  PLANNER_SUMMARY_MAX_TOKENS: int(64, 1_000_000).default(800),
  PLANNER_LOOP_REPEATED_FAILURES: int(2, 100).default(2),
  PLANNER_LOOP_REPEATED_SUCCESSES: int(2, 100).default(3),
  PLANNER_LOOP_OSCILLATION_CYCLES: int(2, 100).default(3),
  PLANNER_LOOP_NO_PROGRESS_STEPS: int(2, 1_000).default(6),
  PLANNER_TASK_MAX_TOKENS: int(1, 100_000_000).default(200_000),
  PLANNER_TASK_MAX_COST_USD: num(0.000001, 100_000).default(5),
  PLANNER_TASK_MAX_STEPS: int(1, 10_000).default(50),
  PLANNER_TASK_MAX_WALL_TIME_MS: int(1_000, 7 * 24 * 3_600_000).default(3_600_000),
  PLANNER_TASK_MAX_CONSECUTIVE_FAILURES: int(1, 100).default(5),
  PLANNER_TENANT_MAX_TOKENS: int(1, 10_000_000_000).default(10_000_000),
  PLANNER_TENANT_MAX_COST_USD: num(0.000001, 10_000_000).default(100),
  /** JSON object tenantId → {tokens, costUsd}, overriding the tenant defaults. */
  PLANNER_TENANT_LIMITS: jsonEnv(z.record(z.string(), TenantLimit)).optional(),
  /**
   * The least a planner takes of a tenant's budget at a time (an allowance, ADR 0031): model calls are reserved
   * against it in memory; more when a call needs more, less when the tenant has less left. Larger: fewer MongoDB
   * writes, but more of the tenant's budget held by one replica (another replica may be refused early).
   */
  PLANNER_TENANT_LEASE_TOKENS: int(1, 10_000_000_000).default(DEFAULT_TENANT_LEASE_TOKENS),
  PLANNER_TENANT_LEASE_COST_USD: num(0.000001, 10_000_000).default(DEFAULT_TENANT_LEASE_COST_USD),
  /** An allowance no model call used for this long is given back (its unspent part returns to the tenant). */
  PLANNER_TENANT_LEASE_IDLE_MS: int(10, 24 * 3_600_000).default(DEFAULT_TENANT_LEASE_IDLE_MS),
  PLANNER_TOOL_BREAKER_TTL_MS: int(1_000, 24 * 3_600_000).default(30_000),
  PLANNER_ESCALATION_TTL_MS: int(60_000, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  /**
   * A tenant's allowance not given back this long after it was taken was left by a crash: the tenant budget log
   * charges it in full (ADR 0032). An allowance takes new calls until this minus the longest model call.
   */
  PLANNER_RESERVATION_TTL_MS: int(10_000, 24 * 3_600_000).default(30 * 60_000),
  /** Partitions of the tenant budget topic (`<prefix>.tenant-budgets.v1`, keyed by tenant) when a planner creates it. */
  PLANNER_TENANT_BUDGET_PARTITIONS: int(1, 1_000).default(DEFAULT_TOPIC_PARTITIONS),
  /**
   * How long taking or giving back an allowance waits for this replica's reader to reach its record in the tenant
   * budget log (a planner that starts reads the whole log first); then the handling fails and is tried again.
   */
  PLANNER_TENANT_BUDGET_ANSWER_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
  /**
   * Records folded in a partition of the tenant budget log between two snapshots of it (ADR 0035: a starting planner
   * folds from the latest snapshot, not from the beginning); 0: no snapshots are written.
   */
  PLANNER_TENANT_BUDGET_SNAPSHOT_EVERY: int(0, 100_000_000).default(DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY),
  PLANNER_POLICY_VERSION: z.string().min(1).max(MAX_ID_CHARS).default('planner.v1'),
  /**
   * Personal-data patterns (ADR 0026, EXECUTOR_SEAL_PATTERNS' format: a JSON array of regexes): any piece of the
   * model's output matching one is sealed under the tenant's key before it is published. Repetitions of values the
   * model was shown opened are sealed under their subjects' keys whatever this holds.
   */
  PLANNER_SEAL_PATTERNS: sealPatternsEnv(),
  /**
   * How long the small record of a completed or failed task stays in the planner's keyed state (refusing a second
   * TaskSubmitted of its id, ignoring its late events); 0: for ever (ADR 0029).
   */
  PLANNER_ENDED_TASK_RETENTION_MS: int(0, 365 * 24 * 3_600_000).default(DEFAULT_ENDED_TASK_RETENTION_MS),
  /** How often the task views (planner_task_views, what the escalation page shows) are written, batched. */
  PLANNER_TASK_VIEW_FLUSH_MS: int(10, 600_000).default(DEFAULT_TASK_VIEW_FLUSH_MS),
  /** Most task views waiting to be written; beyond it the oldest waiting one is dropped (logged). */
  PLANNER_TASK_VIEW_MAX_PENDING: int(1, 10_000_000).default(DEFAULT_TASK_VIEW_MAX_PENDING),
});

/** The planner's own settings (besides the runtime's). */
export interface PlannerSettings {
  readonly defaultModel: string;
  readonly model: OpenAiModelSettings;
  readonly prices: readonly ModelPrice[];
  readonly maxCompletionTokens: number;
  /** Longest answer accepted (PLANNER_MAX_ANSWER_CHARS); a longer one is refused, never cut. */
  readonly maxAnswerChars: number;
  readonly window: WindowSettings;
  readonly loops: LoopSettings;
  readonly ceilings: TaskCeilings;
  readonly tenantDefault: { readonly tokens: number; readonly costUsd: number };
  readonly tenantOverrides: Readonly<Record<string, { readonly tokens: number; readonly costUsd: number }>>;
  /**
   * Tenant allowances (ADR 0031): the least taken at a time, how long one takes new calls (the reservation TTL
   * minus the longest model call with its retries) and after how long unused it is given back.
   */
  readonly tenantLease: {
    readonly tokens: number;
    readonly costUsd: number;
    readonly usableMs: number;
    readonly idleMs: number;
  };
  readonly toolBreakerTtlMs: number;
  readonly escalationTtlMs: number;
  readonly policyVersion: string;
  /** Allowances not given back within this are charged in full (longer than any call with all its retries). */
  readonly reservationTtlMs: number;
  /** The tenant budget topic's partitions (when created here) and how long a take or give waits for its answer. */
  readonly tenantBudgetPartitions: number;
  readonly tenantBudgetAnswerTimeoutMs: number;
  readonly tenantBudgetSnapshotEvery: number;
  /** Personal-data patterns sealed in the model's output under the tenant's key (PLANNER_SEAL_PATTERNS). */
  readonly sealPatterns: readonly RegExp[];
  /** How long a completed or failed task's record stays in keyed state (ms; 0: for ever). */
  readonly endedTaskRetentionMs: number;
  /** The task views' write-behind (planner_task_views): flush interval and most waiting views. */
  readonly taskViews: { readonly flushMs: number; readonly maxPending: number };
}

/** The planner's configuration. */
export interface PlannerConfig {
  readonly runtime: WorkerRuntimeConfig;
  /** Tracing (OTEL_* variables) and metric-label settings; tracing off when absent. */
  readonly telemetry?: TelemetryConfig;
  readonly settings: PlannerSettings;
}

/** The longest a model call can take with every retry (ms). */
function longestModelCallMs(
  e: Pick<
    z.infer<typeof PlannerEnv>,
    'PLANNER_MODEL_TIMEOUT_MS' | 'PLANNER_MODEL_MAX_RETRIES' | 'PLANNER_MODEL_RETRY_MAX_MS'
  >,
): number {
  return (
    e.PLANNER_MODEL_TIMEOUT_MS * (e.PLANNER_MODEL_MAX_RETRIES + 1) +
    e.PLANNER_MODEL_RETRY_MAX_MS * e.PLANNER_MODEL_MAX_RETRIES
  );
}

/** Reads the planner's configuration (the only place the planner reads process.env). */
export function loadPlannerConfig(env: Readonly<Record<string, string | undefined>> = process.env): PlannerConfig {
  const e = loadConfig(
    PlannerEnv.superRefine((v, ctx) => {
      // A reservation must outlive the longest model call, or the sweep could expire a call still running (its
      // settlement would then be refused and its usage charged at the reservation's bound).
      const longestCallMs = longestModelCallMs(v);
      if (v.PLANNER_RESERVATION_TTL_MS <= longestCallMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['PLANNER_RESERVATION_TTL_MS'],
          message: `${v.PLANNER_RESERVATION_TTL_MS} must exceed the longest model call with its retries (${longestCallMs} ms)`,
        });
      }
    }),
    env,
  );
  const runtime = runtimeConfigFrom(e);
  const longestCallMs = longestModelCallMs(e);
  return {
    telemetry: telemetryConfigFrom(loadConfig(TelemetryEnv, env)),
    runtime: {
      ...runtime,
      secretLiterals: [
        ...(runtime.secretLiterals ?? []),
        ...(e.OPENAI_API_KEY === 'scripted' ? [] : [e.OPENAI_API_KEY]),
      ],
    },
    settings: {
      sealPatterns: e.PLANNER_SEAL_PATTERNS,
      defaultModel: e.PLANNER_MODEL,
      model: {
        baseURL: e.OPENAI_BASE_URL,
        apiKey: e.OPENAI_API_KEY,
        timeoutMs: e.PLANNER_MODEL_TIMEOUT_MS,
        maxRetries: e.PLANNER_MODEL_MAX_RETRIES,
        retryBaseMs: e.PLANNER_MODEL_RETRY_BASE_MS,
        retryMaxMs: e.PLANNER_MODEL_RETRY_MAX_MS,
        logprobs: e.PLANNER_MODEL_LOGPROBS === 'true',
        stream: e.PLANNER_STREAM === 'true',
        breaker: {
          errorThresholdPercent: e.PLANNER_MODEL_BREAKER_ERROR_PERCENT,
          volumeThreshold: e.PLANNER_MODEL_BREAKER_VOLUME,
          rollingWindowMs: e.PLANNER_MODEL_BREAKER_WINDOW_MS,
          resetTimeoutMs: e.PLANNER_MODEL_BREAKER_RESET_MS,
        },
      },
      prices: e.PLANNER_PRICES ?? DEFAULT_PRICES,
      maxCompletionTokens: e.PLANNER_MAX_COMPLETION_TOKENS,
      maxAnswerChars: e.PLANNER_MAX_ANSWER_CHARS,
      window: {
        lastTurns: e.PLANNER_WINDOW_TURNS,
        toolOutputMaxTokens: e.PLANNER_TOOL_OUTPUT_MAX_TOKENS,
        summaryMaxTokens: e.PLANNER_SUMMARY_MAX_TOKENS,
      },
      loops: {
        maxRepeatedFailures: e.PLANNER_LOOP_REPEATED_FAILURES,
        maxRepeatedSuccesses: e.PLANNER_LOOP_REPEATED_SUCCESSES,
        oscillationCycles: e.PLANNER_LOOP_OSCILLATION_CYCLES,
        maxStepsWithoutNewInfo: e.PLANNER_LOOP_NO_PROGRESS_STEPS,
      },
      ceilings: {
        maxTokens: e.PLANNER_TASK_MAX_TOKENS,
        maxCostUsd: e.PLANNER_TASK_MAX_COST_USD,
        maxSteps: e.PLANNER_TASK_MAX_STEPS,
        maxWallTimeMs: e.PLANNER_TASK_MAX_WALL_TIME_MS,
        maxConsecutiveFailures: e.PLANNER_TASK_MAX_CONSECUTIVE_FAILURES,
      },
      tenantDefault: { tokens: e.PLANNER_TENANT_MAX_TOKENS, costUsd: e.PLANNER_TENANT_MAX_COST_USD },
      tenantOverrides: e.PLANNER_TENANT_LIMITS ?? {},
      tenantLease: {
        tokens: e.PLANNER_TENANT_LEASE_TOKENS,
        costUsd: e.PLANNER_TENANT_LEASE_COST_USD,
        usableMs: e.PLANNER_RESERVATION_TTL_MS - longestCallMs,
        idleMs: e.PLANNER_TENANT_LEASE_IDLE_MS,
      },
      toolBreakerTtlMs: e.PLANNER_TOOL_BREAKER_TTL_MS,
      escalationTtlMs: e.PLANNER_ESCALATION_TTL_MS,
      policyVersion: e.PLANNER_POLICY_VERSION,
      reservationTtlMs: e.PLANNER_RESERVATION_TTL_MS,
      tenantBudgetPartitions: e.PLANNER_TENANT_BUDGET_PARTITIONS,
      tenantBudgetAnswerTimeoutMs: e.PLANNER_TENANT_BUDGET_ANSWER_TIMEOUT_MS,
      tenantBudgetSnapshotEvery: e.PLANNER_TENANT_BUDGET_SNAPSHOT_EVERY,
      endedTaskRetentionMs: e.PLANNER_ENDED_TASK_RETENTION_MS,
      taskViews: { flushMs: e.PLANNER_TASK_VIEW_FLUSH_MS, maxPending: e.PLANNER_TASK_VIEW_MAX_PENDING },
    },
  };
}
