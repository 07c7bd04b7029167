import { randomBytes } from 'node:crypto';
import type { SigningKey } from '@warden/contracts';
import {
  createGuardMetrics,
  createRuntimeMetrics,
  defineWorker,
  subjectKeysOf,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { loadPolicy, sealedOpener, type ImpactEstimator } from '@warden/policy';
import { CalibrationFollower } from './calibrations.js';
import { createHandlers, createWake, guardConsumes, type GuardHandlerDeps } from './handlers/index.js';
import { storeImpactEstimator } from './impact.js';
import { GuardTaskState } from './task-state.js';
import { capsLookup, type TenantCapsSetting } from './config.js';
import { verdictSigner } from './verdict-signer.js';

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
  /**
   * The guard's private key (GUARD_SIGNING_KEY): every verdict is signed with it, and executors run only verdicts
   * signed by a key they trust (WARDEN_GUARD_PUBLIC_KEYS). Absent: verdicts go unsigned, which executors refuse.
   */
  readonly signingKey?: SigningKey;
  /** The review sample of auto-approved actions (ADR 0025); rate 0 (the default) samples nothing. */
  readonly reviewSample?: { readonly rate: number; readonly salt: string };
  /**
   * How long a proposal whose causes (its TaskSubmitted, cited results) have not arrived waits in its task's state
   * before it is judged on what is known (default DEFAULT_CAUSE_WAIT_MS).
   */
  readonly causeWaitMs?: number;
  /** How long start may take to read the published calibrations (default 30 s). */
  readonly calibrationLoadTimeoutMs?: number;
}

/** Default time to read the calibrations topic to its end at start. */
export const DEFAULT_CALIBRATION_LOAD_TIMEOUT_MS = 30_000;

/** The guard worker, with a view of the calibration in force. */
export interface GuardWorker extends Worker {
  /** The version of the published calibration in force, or null when the policy file's map applies. */
  calibrationVersion(): string | null;
}

/**
 * The guard as a worker: records each task's bounds and tool results, judges every ActionProposed and
 * AnswerProposed with decide(), and publishes ActionApproved, ActionRejected or EscalationRequested (after an
 * AlertRaised for each warn-mode rule that matched). A bad policy file stops it at start with every problem listed.
 * The calibration published on `<prefix>.calibrations.v1` (ADR 0025) is applied on top of the file: read to its end
 * before the first proposal is judged, then followed.
 */
export function createGuardWorker(options: GuardWorkerOptions): GuardWorker {
  const policy = loadPolicy(options.policySource);
  const metrics = createRuntimeMetrics('guard');
  const agentMetrics = createGuardMetrics(metrics.meter);
  let follower: CalibrationFollower | undefined;
  let wake: ReturnType<typeof createWake> | undefined;
  const worker = defineWorker({
    name: 'guard',
    consumes: [...guardConsumes],
    config: options.runtime,
    metrics,
    // Each task's records and waiting proposals (ADR 0027): in memory per partition, changelogged in each
    // transaction; a proposal whose causes are late is judged when they arrive, or at its deadline by the wake-up.
    state: {
      schema: GuardTaskState,
      onWake: (taskId, ctx) => (wake === undefined ? Promise.resolve() : wake(taskId, ctx)),
    },
    handlers: async (deps) => {
      const replicaId = randomBytes(4).toString('hex');
      follower = new CalibrationFollower(
        deps.kafka,
        deps.topics.prefix,
        policy,
        replicaId,
        deps.logger,
        options.calibrationLoadTimeoutMs ?? DEFAULT_CALIBRATION_LOAD_TIMEOUT_MS,
      );
      await follower.start();
      const current = follower;
      if (options.signingKey === undefined) {
        deps.logger.error(
          'no GUARD_SIGNING_KEY: verdicts go out UNSIGNED and every executor that checks them will refuse to run them',
        );
      } else {
        deps.logger.info({ keyId: options.signingKey.keyId }, 'verdicts are signed (Ed25519)');
      }
      const opener = sealedOpener(subjectKeysOf(deps.db, deps.config));
      const handlerDeps: GuardHandlerDeps = {
        policy,
        currentPolicy: () => current.policy(),
        ...(options.reviewSample === undefined ? {} : { reviewSample: options.reviewSample }),
        estimateImpact:
          options.estimateImpact ?? storeImpactEstimator(deps.db, options.customerCollections ?? ['customers']),
        escalationTtlMs: options.escalationTtlMs,
        ...(options.causeWaitMs === undefined ? {} : { causeWaitMs: options.causeWaitMs }),
        now: options.now ?? (() => new Date()),
        ...(options.tenantCaps === undefined ? {} : { tenantCaps: capsLookup(options.tenantCaps) }),
        metrics: agentMetrics,
        sign: verdictSigner(options.signingKey, (value) => deps.codec.redact(value)),
        openSealed: opener.open,
        holdsErased: opener.erased,
        ...(opener.reseal === undefined ? {} : { resealText: opener.reseal }),
      };
      wake = createWake(handlerDeps);
      return createHandlers(handlerDeps);
    },
    onClosing: async () => {
      await follower?.stop();
    },
  });
  return Object.assign(worker, { calibrationVersion: () => follower?.calibrationVersion() ?? null });
}
