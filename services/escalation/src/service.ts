import { presentSealed, verifyingKeyOf } from '@warden/contracts';
import {
  createEscalationMetrics,
  createRuntimeMetrics,
  defineWorker,
  subjectKeysOf,
  type Worker,
} from '@warden/runtime';
import type { FastifyInstance } from 'fastify';
import { buildPeopleApi } from './api/server.js';
import { Authenticator } from './auth.js';
import type { EscalationConfig } from './config.js';
import { Decisions } from './decisions.js';
import { createHandlers, escalationConsumes } from './handlers/index.js';
import { Rollbacks } from './rollback/rollbacks.js';
import { EscalationStore } from './store.js';
import { TaskEscalations } from './task-escalations.js';
import { TaskViews } from './task-view.js';
import { Webhooks } from './webhooks.js';

/** How far back a live poll looks past the newest change it saw (replicas' clocks differ). */
const LIVE_LOOKBACK_MS = 5_000;

/** How long a task's budget and breaker view is reused when the configuration does not say. */
const DEFAULT_TASK_VIEW_CACHE_MS = 2_000;

/** The service's name (consumer group suffix, logs). */
export const ESCALATION_NAME = 'escalation';

/** The escalation service, with the address of its people's API. */
export interface EscalationService extends Worker {
  /** The API's address once started. */
  apiAddress(): { host: string; port: number } | undefined;
  /** Expires overdue escalations now (the background check does this every ESCALATION_EXPIRY_CHECK_MS). */
  expireOverdue(): Promise<number>;
}

/** Options of the escalation service. */
export interface EscalationServiceOptions {
  readonly config: EscalationConfig;
  readonly now?: () => Date;
}

/**
 * The escalation service: projects escalations, decisions, expiries, alerts and task ends into MongoDB; serves the
 * people's API; publishes signed decisions and, for escalations nobody decided in time, EscalationExpired.
 */
export function createEscalationService(options: EscalationServiceOptions): EscalationService {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  let api: FastifyInstance | undefined;
  let address: { host: string; port: number } | undefined;
  let decisions: Decisions | undefined;
  let store: EscalationStore | undefined;
  let views: TaskViews | undefined;
  let webhooks: Webhooks | undefined;
  let timer: NodeJS.Timeout | undefined;
  let liveTimer: NodeJS.Timeout | undefined;
  let sweeping = false;
  const metrics = createRuntimeMetrics(ESCALATION_NAME);
  const agentMetrics = createEscalationMetrics(metrics.meter);
  const worker: Worker = defineWorker({
    name: ESCALATION_NAME,
    consumes: [...escalationConsumes],
    config: config.runtime,
    metrics,
    // the escalations each task was asked about, so that its end cancels them by id (ADR 0033)
    state: { schema: TaskEscalations },
    handlers: async (deps) => {
      store = new EscalationStore(deps.db);
      await store
        .ensureIndexes()
        .catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'could not create the escalation indexes: queries scan until they exist'),
        );
      views = new TaskViews(deps.db, config.taskViewCacheMs ?? DEFAULT_TASK_VIEW_CACHE_MS, now);
      if (config.webhooks !== undefined)
        webhooks = new Webhooks(deps.db, config.webhooks, deps.logger.child({ component: 'webhooks' }));
      const own = new Map(deps.config.decisionTrust?.keys ?? []);
      own.set(config.signingKey.keyId, verifyingKeyOf(config.signingKey));
      return createHandlers(store, views, own, webhooks, agentMetrics);
    },
    onStarted: async (deps) => {
      // the handlers' store: its changes feed the API's live updates
      store ??= new EscalationStore(deps.db);
      views ??= new TaskViews(deps.db, config.taskViewCacheMs ?? DEFAULT_TASK_VIEW_CACHE_MS, now);
      const taskViews = views;
      store.onChange((c) => taskViews.forget(c.taskId));
      const logger = deps.logger.child({ component: 'people-api' });
      decisions = new Decisions({
        store,
        publisher: () => worker.publisher(),
        signingKey: config.signingKey,
        decisionTtlMs: config.decisionTtlMs,
        now,
        logger,
        metrics: agentMetrics,
      });
      const subjectKeys = subjectKeysOf(deps.db, deps.config);
      const rollbacks = new Rollbacks({ runtime: deps, publisher: () => worker.publisher(), subjectKeys });
      api = buildPeopleApi({
        store,
        decisions,
        views,
        auth: new Authenticator(config.staticTokens, config.jwt),
        rollbacks,
        presentSealed: (value, open) => presentSealed(subjectKeys, value, open),
      });
      await api.listen({ port: config.httpPort, host: config.httpHost });
      const bound = api.server.address();
      if (bound !== null && typeof bound === 'object') address = { host: config.httpHost, port: bound.port };
      logger.info({ address }, 'people API listening');
      await webhooks?.resumePending();
      const livePollMs = config.livePollMs ?? 0;
      if (livePollMs > 0) {
        const changes = store;
        const announced = new Map<string, number>();
        let since = now();
        let polling = false;
        liveTimer = setInterval(() => {
          if (polling) return;
          polling = true;
          changes
            .announceOthers(since, LIVE_LOOKBACK_MS, announced)
            .then((newest) => (since = newest))
            .catch((error: unknown) => logger.warn({ err: error }, 'live update poll failed; tried again'))
            .finally(() => (polling = false));
        }, livePollMs);
      }
      timer = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        decisions!
          .expireOverdue()
          .catch((error: unknown) => logger.error({ err: error }, 'expiry check failed; retried at the next one'))
          .finally(() => (sweeping = false));
      }, config.expiryCheckMs);
    },
    onClosing: async () => {
      if (timer !== undefined) clearInterval(timer);
      if (liveTimer !== undefined) clearInterval(liveTimer);
      await api?.close();
      await webhooks?.close();
    },
  });
  return Object.assign(worker, {
    apiAddress: () => address,
    expireOverdue: () => decisions?.expireOverdue() ?? Promise.resolve(0),
  });
}
