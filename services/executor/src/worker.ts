import { randomBytes } from 'node:crypto';
import {
  createExecutorMetrics,
  createRuntimeMetrics,
  decisionTrustOf,
  defineWorker,
  type RuntimeDeps,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { createRunnableToolRegistry, ToolDefinitionError, type RunnableTool } from '@warden/tools';
import { BreakerSync, ToolBreakers, breakerTopic } from './breakers.js';
import type { ExecutorSettings } from './config.js';
import { createHandlers, executorConsumes } from './handlers/index.js';
import type { ExecutorHooks } from './handlers/execute.js';
import { EscalationBook } from './escalations.js';
import { EffectLedger } from './ledger.js';

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
  const worker = defineWorker({
    name: 'executor',
    consumes: [...executorConsumes],
    config: options.runtime,
    metrics,
    handlers: (deps) => {
      const all = options.tools(deps);
      const enabled = s.enabledTools === undefined ? all : all.filter((t) => s.enabledTools!.includes(t.spec.name));
      const missing = (s.enabledTools ?? []).filter((n) => !all.some((t) => t.spec.name === n));
      if (missing.length > 0)
        throw new ToolDefinitionError(`EXECUTOR_TOOLS names unknown tools: ${missing.join(', ')}`);
      const logger = deps.logger.child({ replicaId });
      breakers = new ToolBreakers(s.breakers, replicaId, logger);
      breakers.onTransition((tool, to) => agentMetrics.breakerTransition(tool, to));
      sync = new BreakerSync(deps.kafka, breakerTopic(deps.topics.prefix), breakers, replicaId, logger);
      return createHandlers({
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
        escalations: new EscalationBook(deps.db),
        metrics: agentMetrics,
      });
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
