import {
  createGuardMetrics,
  createRuntimeMetrics,
  defineWorker,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { loadPolicy, type ImpactEstimator } from '@warden/policy';
import { createHandlers, guardConsumes } from './handlers/index.js';
import { storeImpactEstimator } from './impact.js';
import { GuardTaskStore } from './task-store.js';
import { capsLookup, type TenantCapsSetting } from './config.js';

/** Options of the guard worker. */
export interface GuardWorkerOptions {
  readonly runtime: WorkerRuntimeConfig;
  /** The policy document (parsed JSON); loaded and checked at start. */
  readonly policySource: unknown;
  readonly escalationTtlMs: number;
  /** The impact estimator; by default a dry run against `customerCollections` in the worker's database. */
  readonly estimateImpact?: ImpactEstimator;
  /** Customer collections a delete's dry run counts in (default ["customers"]). */
  readonly customerCollections?: readonly string[];
  readonly now?: () => Date;
  /** Caps on the magnitude limits a task may ask for, per tenant (GUARD_TENANT_CAPS). */
  readonly tenantCaps?: TenantCapsSetting;
}

/**
 * The guard as a worker: records each task's bounds and tool results, judges every ActionProposed and
 * AnswerProposed with decide(), and publishes ActionApproved, ActionRejected or EscalationRequested (after an
 * AlertRaised for each warn-mode rule that matched). A bad policy file stops it at start with every problem listed.
 */
export function createGuardWorker(options: GuardWorkerOptions): Worker {
  const policy = loadPolicy(options.policySource);
  const metrics = createRuntimeMetrics('guard');
  const agentMetrics = createGuardMetrics(metrics.meter);
  return defineWorker({
    name: 'guard',
    consumes: [...guardConsumes],
    config: options.runtime,
    metrics,
    handlers: (deps) =>
      createHandlers({
        store: new GuardTaskStore(deps.db),
        policy,
        estimateImpact:
          options.estimateImpact ?? storeImpactEstimator(deps.db, options.customerCollections ?? ['customers']),
        escalationTtlMs: options.escalationTtlMs,
        now: options.now ?? (() => new Date()),
        ...(options.tenantCaps === undefined ? {} : { tenantCaps: capsLookup(options.tenantCaps) }),
        metrics: agentMetrics,
      }),
  });
}
