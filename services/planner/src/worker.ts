import { hostname } from 'node:os';
import {
  createPlannerMetrics,
  createRuntimeMetrics,
  decisionTrustOf,
  defineWorker,
  subjectKeysOf,
  TELEMETRY_OFF,
  type PlannerMetrics,
  type TelemetryConfig,
  type Handlers,
  type RuntimeDeps,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { demoTools, type ToolRegistry } from '@warden/tools';
import type { PlannerSettings } from './config.js';
import { toMicroUsd } from './decide/budget.js';
import { createHandlers, plannerConsumes, plannerWake } from './handlers/index.js';
import type { ModelClient } from './model/model-client.js';
import { createOpenAiModel } from './model/openai-model.js';
import { o200kCounter } from './model/tokens.js';
import { OpenTools } from './open-tools.js';
import { PlannerRecord } from './task-state.js';
import { TenantAllowances } from './tenant-allowances.js';
import { warnOfUncarriedLegacySpend } from './legacy-budget-log.js';
import { TenantBudgetLog, tenantBudgetSnapshotTopic, tenantBudgetTopic } from './tenant-budget-log.js';
import { NO_TASK_VIEWS, TaskViewWriter, type TaskViewSink } from './task-views.js';

/** Options of the planner worker. */
export interface PlannerWorkerOptions {
  readonly runtime: WorkerRuntimeConfig;
  readonly settings: PlannerSettings;
  /** The model; an openai-package adapter over settings.model by default. */
  readonly model?: ModelClient;
  /** The tools the model may be offered; the demo tool set by default. */
  readonly tools?: ToolRegistry;
  readonly now?: () => Date;
  /** Metric-label settings (tracing itself is started by main.ts). */
  readonly telemetry?: TelemetryConfig;
}

/** The planner's handlers over a runtime's connections (what the worker runs; tests call them directly too). */
export function createPlannerHandlers(
  deps: RuntimeDeps,
  options: PlannerWorkerOptions & {
    readonly model: ModelClient;
    readonly openTools: OpenTools;
    readonly metrics?: PlannerMetrics;
    /** Where task views go (planner_task_views, written behind); none kept by default. */
    readonly views?: TaskViewSink;
    /** The tenants' allowances (ADR 0031), taken from their owner (tenantAllowances: the tenant budget log). */
    readonly allowances: TenantAllowances;
  },
): Handlers<(typeof plannerConsumes)[number], PlannerRecord> {
  const s = options.settings;
  const now = options.now ?? (() => new Date());
  const { openTools } = options;
  const keys = subjectKeysOf(deps.db, deps.config);
  return createHandlers(
    {
      model: options.model,
      tools: options.tools ?? demoTools,
      budgets: options.allowances,
      views: options.views ?? NO_TASK_VIEWS,
      endedTaskRetentionMs: s.endedTaskRetentionMs,
      tokens: o200kCounter,
      prices: s.prices,
      loops: s.loops,
      window: s.window,
      maxCompletionTokens: s.maxCompletionTokens,
      maxAnswerChars: s.maxAnswerChars,
      tenantLimit: (tenantId) => s.tenantOverrides[tenantId] ?? s.tenantDefault,
      openTools: () => openTools.current(now().getTime()),
      markToolOpen: (tool, atMs) => openTools.opened(tool, atMs),
      markToolClosed: (tool) => openTools.closed(tool),
      escalationTtlMs: s.escalationTtlMs,
      policyVersion: s.policyVersion,
      now,
      redact: (value) => deps.codec.redact(value),
      sealing: { keys, patterns: s.sealPatterns },
      decisionTrust: decisionTrustOf(deps),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    },
    { defaultModel: s.defaultModel, ceilings: s.ceilings },
  );
}

/** The tenants' budgets owned by the partitions of the topic keyed by tenant (ADR 0032); start it before use. */
export function tenantBudgetLog(deps: RuntimeDeps, s: PlannerSettings): TenantBudgetLog {
  return new TenantBudgetLog(deps.kafka, {
    topic: tenantBudgetTopic(deps.topics.prefix),
    partitions: s.tenantBudgetPartitions,
    reservationTtlMs: s.reservationTtlMs,
    answerTimeoutMs: s.tenantBudgetAnswerTimeoutMs,
    snapshotTopic: tenantBudgetSnapshotTopic(deps.topics.prefix),
    snapshotEvery: s.tenantBudgetSnapshotEvery,
    replicaId: `${hostname()}-${process.pid}`,
    logger: deps.logger.child({ component: 'tenant-budget-log' }),
  });
}

/** Tenant allowances (ADR 0031) taken from the tenant budget log (ADR 0032), from the planner's settings. */
export function tenantAllowances(
  deps: RuntimeDeps,
  s: PlannerSettings,
  now: () => Date,
  owner: TenantBudgetLog,
): TenantAllowances {
  const logger = deps.logger.child({ component: 'tenant-allowances' });
  return new TenantAllowances(
    owner,
    {
      size: { tokens: s.tenantLease.tokens, microUsd: toMicroUsd(s.tenantLease.costUsd) },
      usableMs: s.tenantLease.usableMs,
      idleMs: s.tenantLease.idleMs,
    },
    {
      now: () => now().getTime(),
      onError: (error, grant) =>
        logger.warn(
          { err: error, tenantId: grant.tenantId, leaseId: grant.leaseId },
          'could not give a tenant allowance back: it is charged in full at its TTL',
        ),
    },
  );
}

/**
 * The planner as a worker: consumes TaskSubmitted and every step outcome, keeps each task's state in its keyed state
 * (ADR 0029: in memory per partition, changelogged in each transaction, with the task's budget) and holds allowances of
 * the tenants' budgets (ADR 0031) taken from the topic keyed by tenant that owns them (ADR 0032), calls the model and
 * publishes proposals or the task's end. The task views people read are written behind, in batches.
 */
export function createPlannerWorker(options: PlannerWorkerOptions): Worker {
  const s = options.settings;
  const model = options.model ?? createOpenAiModel(s.model, o200kCounter);
  const openTools = new OpenTools(s.toolBreakerTtlMs);
  let budgetLog: TenantBudgetLog | undefined;
  let views: TaskViewWriter | undefined;
  let allowances: TenantAllowances | undefined;
  const now = options.now ?? (() => new Date());
  const metrics = createRuntimeMetrics('planner');
  const agentMetrics = createPlannerMetrics(metrics.meter, (options.telemetry ?? TELEMETRY_OFF).maxTenantLabels);
  return defineWorker({
    name: 'planner',
    consumes: [...plannerConsumes],
    config: options.runtime,
    metrics,
    // Each task's state (ADR 0029); the wake-up deletes an ended task's record once its retention has passed.
    state: { schema: PlannerRecord, onWake: plannerWake(now) },
    handlers: async (deps) => {
      views = new TaskViewWriter(deps.db, { ...s.taskViews, logger: deps.logger.child({ component: 'task-views' }) });
      views.start();
      budgetLog = tenantBudgetLog(deps, s);
      await budgetLog.start();
      void warnOfUncarriedLegacySpend(deps.db, budgetLog, deps.logger.child({ component: 'tenant-budget-log' }));
      allowances = tenantAllowances(deps, s, now, budgetLog);
      allowances.start();
      return createPlannerHandlers(deps, { ...options, model, openTools, metrics: agentMetrics, views, allowances });
    },
    onClosing: async () => {
      if (options.model === undefined) model.close();
      // allowances go back (calls still in flight charged in full; later ones take only what they need)
      await allowances?.close();
      await budgetLog?.stop();
      await views?.close();
    },
  });
}
