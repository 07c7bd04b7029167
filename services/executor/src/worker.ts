import { randomBytes } from 'node:crypto';
import { holdsErased, openSealed, type JsonObject, type SubjectKeyStore } from '@warden/contracts';
import {
  createExecutorMetrics,
  createRuntimeMetrics,
  decisionTrustOf,
  defineWorker,
  subjectKeysOf,
  type RuntimeDeps,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import {
  createDemoTools,
  createRunnableToolRegistry,
  sealPersonalData,
  sealRepeated,
  sealRepeatedTextWithin,
  ToolDefinitionError,
  type DemoToolStores,
  type RunnableTool,
} from '@warden/tools';
import { BreakerSync, ToolBreakers, breakerTopic } from './breakers.js';
import { DEFAULT_ENDED_TASK_RETENTION_MS, DEFAULT_TASK_WAIT_MS, type ExecutorSettings } from './config.js';
import { createHandlers, createWake, executorConsumes } from './handlers/index.js';
import type { ExecutorHandlerDeps, ExecutorHooks } from './handlers/execute.js';
import { EffectLedger } from './ledger.js';
import { ExecutorTaskState } from './task-state.js';

/** Options of the executor worker. */
export interface ExecutorWorkerOptions {
  readonly runtime: WorkerRuntimeConfig;
  readonly settings: ExecutorSettings;
  /** The tools, built once the runtime's connections are open (their stores). */
  readonly tools: (deps: RuntimeDeps) => readonly RunnableTool[];
  readonly hooks?: ExecutorHooks;
  readonly now?: () => Date;
}

/** The executor worker, with a view of its breakers. */
export interface ExecutorWorker extends Worker {
  /** The local state of a tool's breaker. */
  breakerState(tool: string): 'closed' | 'open' | 'halfOpen';
}

/**
 * The executor as a worker: consumes ActionApproved and HumanApproved, runs each approved call exactly once
 * through the effect ledger and the tool's breaker, and publishes ToolSucceeded or ToolFailed (with BreakerOpened,
 * BreakerClosed, AlertRaised and EscalationRequested where they apply). Breaker changes are shared with the
 * other replicas through the compacted `<prefix>.breakers.v1` topic.
 */
export function createExecutorWorker(options: ExecutorWorkerOptions): ExecutorWorker {
  const s = options.settings;
  const replicaId = `${s.replicaId}-${randomBytes(3).toString('hex')}`;
  let breakers: ToolBreakers | undefined;
  let sync: BreakerSync | undefined;
  const metrics = createRuntimeMetrics('executor');
  const agentMetrics = createExecutorMetrics(metrics.meter, () => breakers?.states() ?? []);
  let wake: ReturnType<typeof createWake> | undefined;
  const worker = defineWorker({
    name: 'executor',
    consumes: [...executorConsumes],
    config: options.runtime,
    metrics,
    // Each task's definition, end, escalations and waiting approvals (ADR 0028): in memory per partition,
    // changelogged in each transaction; an approval that comes before its task's TaskSubmitted runs when it comes,
    // or is refused at its deadline by the wake-up.
    state: {
      schema: ExecutorTaskState,
      onWake: (taskId, ctx) => (wake === undefined ? Promise.resolve() : wake(taskId, ctx)),
    },
    handlers: (deps) => {
      const all = options.tools(deps);
      const enabled = s.enabledTools === undefined ? all : all.filter((t) => s.enabledTools!.includes(t.spec.name));
      const missing = (s.enabledTools ?? []).filter((n) => !all.some((t) => t.spec.name === n));
      if (missing.length > 0)
        throw new ToolDefinitionError(`EXECUTOR_TOOLS names unknown tools: ${missing.join(', ')}`);
      const logger = deps.logger.child({ replicaId });
      breakers = new ToolBreakers(s.breakers, replicaId, logger);
      const verdictTrust = s.verdictTrust ?? { keys: new Map(), insecureAcceptUnsigned: false };
      if (verdictTrust.insecureAcceptUnsigned) {
        logger.error(
          "INSECURE: WARDEN_INSECURE_UNSIGNED_DECISIONS=true: the guard's verdicts are run WITHOUT checking who signed " +
            'them; anyone able to write to the verdicts topic can make the executor act. Development only.',
        );
      } else if (verdictTrust.keys.size === 0) {
        logger.warn('no WARDEN_GUARD_PUBLIC_KEYS: every ActionApproved will be refused (fail closed)');
      } else {
        logger.info({ keyIds: [...verdictTrust.keys.keys()] }, "the guard's verdicts must be signed by these keys");
      }
      breakers.onTransition((tool, to) => agentMetrics.breakerTransition(tool, to));
      sync = new BreakerSync(deps.kafka, breakerTopic(deps.topics.prefix), breakers, replicaId, logger);
      const keys = subjectKeysOf(deps.db, deps.config);
      const handlerDeps: ExecutorHandlerDeps = {
        tools: createRunnableToolRegistry(enabled),
        ledger: new EffectLedger(deps.db, { blobs: deps.blobs, claimCheckBytes: deps.config.claimCheckBytes }),
        breakers,
        replicaId,
        defaultTimeoutMs: s.defaultTimeoutMs,
        leaseGraceMs: s.leaseGraceMs,
        maxDispatches: s.maxDispatches,
        escalationTtlMs: s.escalationTtlMs,
        now: options.now ?? (() => new Date()),
        ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
        decisionTrust: decisionTrustOf({ config: deps.config, logger }),
        verdictTrust,
        taskWaitMs: s.taskWaitMs ?? DEFAULT_TASK_WAIT_MS,
        endedTaskRetentionMs: s.endedTaskRetentionMs ?? DEFAULT_ENDED_TASK_RETENTION_MS,
        ...(s.sealing === undefined ? {} : { sealResult: resultSealer(keys, s.sealing) }),
        // Args the planner sealed are opened whether or not results are sealed here (ADR 0026).
        resealText: (text, opened, tenantId, maxChars) =>
          sealRepeatedTextWithin(text, { keys, tenantId, opened, patterns: [] }, maxChars),
        openArgs: async (args, onOpened) => ({
          args: (await openSealed(keys, args, onOpened)) as JsonObject,
          erased: await holdsErased(keys, args),
        }),
        metrics: agentMetrics,
      };
      wake = createWake(handlerDeps);
      return createHandlers(handlerDeps);
    },
    onStarted: async () => {
      await sync?.start();
    },
    onClosing: async () => {
      await sync?.stop();
      breakers?.shutdown();
    },
  });
  return Object.assign(worker, {
    breakerState: (tool: string) => breakers?.state(tool) ?? ('closed' as const),
  });
}

/**
 * The demo tools over the executor's stores: with sealing on, the personal data they keep for undo (customer
 * versions, archived records) is sealed under each customer's key like results are, so `warden erase` shreds it.
 */
export function executorDemoTools(
  deps: Pick<RuntimeDeps, 'db' | 'config'>,
  stores: Omit<DemoToolStores, 'db'>,
  settings: Pick<ExecutorSettings, 'sealing'>,
): RunnableTool[] {
  const sealing = settings.sealing;
  return createDemoTools({
    db: deps.db,
    ...stores,
    ...(sealing === undefined
      ? {}
      : { keptSealing: { keys: subjectKeysOf(deps.db, deps.config), keyScope: sealing.keyScope } }),
  });
}

/** Seals a result's personal data (the tool's declaration and the patterns) with the subjects' keys (ADR 0026). */
function resultSealer(
  keys: SubjectKeyStore,
  sealing: NonNullable<ExecutorSettings['sealing']>,
): NonNullable<ExecutorHandlerDeps['sealResult']> {
  return async (spec, tenantId, result, opened) => {
    const sealed = await sealPersonalData(spec.personalData, result, {
      keys,
      tenantId,
      keyScope: sealing.keyScope,
      patterns: sealing.patterns,
    });
    // what the result repeats of the args' opened values (an e-mail's accepted addresses) is sealed as they were
    return opened === undefined || opened.size === 0
      ? sealed
      : sealRepeated(sealed, { keys, tenantId, opened, patterns: [] });
  };
}
