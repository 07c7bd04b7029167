import { setMaxListeners } from 'node:events';
import type { EventType } from '@warden/contracts';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { pino } from 'pino';
import {
  ABORT_LISTENERS_PER_HANDLING,
  DEDUPE_WINDOW_EVENTS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_HEALTH_PROBE_INTERVAL_MS,
  DEFAULT_HEALTH_PROBE_TIMEOUT_MS,
  DEFAULT_OUTAGE_RETRY_BASE_MS,
  DEFAULT_OUTAGE_RETRY_MAX_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STATE_IDLE_TTL_MS,
  DEFAULT_WEDGED_AFTER_MS,
  DEFAULT_WORKER_VERSION,
  FETCH_MAX_BYTES_PER_PARTITION,
  HEARTBEAT_CHECK_INTERVAL_MS,
  HEARTBEATS_PER_SESSION,
  MAX_HEARTBEAT_INTERVAL_MS,
  STATE_WAKE_CHECK_INTERVAL_MS,
  stateChangelogConfig,
} from '../config.js';
import { connectRuntime, type RuntimeDeps } from '../deps.js';
import { LifecycleError, ShutdownTimeoutError } from '../errors.js';
import { createKafka, ensureTopics } from '../kafka.js';
import { Publisher, producerConfig } from '../publisher.js';
import { closeInOrder } from '../signals.js';
import { createRuntimeMetrics, type RuntimeMetrics } from '../telemetry.js';
import { PartitionTransactions } from '../transactions.js';
import { DedupeWindow } from './chunking.js';
import { coPartitionedAssigner } from './co-partitioned-assigner.js';
import { createConsumeLoop } from './consume-loop.js';
import { DependencyMonitor } from './dependency-monitor.js';
import { createHandling, type Handling } from './handling.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import { WorkerLifecycle, WorkerStates } from './lifecycle.js';
import { kafkaProbe, mongoProbe, registryProbe } from './probes.js';
import { retryWhileStarting } from './retry.js';
import { StateStores } from './state-store.js';
import type { Handler, Handlers, Worker, WorkerDefinition } from './types.js';

/** The consumer's heartbeat interval for a session timeout: several beats per session, at most kafkajs's default. */
export function heartbeatIntervalMs(sessionTimeoutMs: number): number {
  return Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeoutMs / HEARTBEATS_PER_SESSION));
}

/** The handlers of the consumed types, by type. */
function handlerMap<C extends EventType, S>(
  consumes: readonly C[],
  handlers: Handlers<C, S>,
): Map<EventType, Handler<EventType>> {
  const map = new Map<EventType, Handler<EventType>>();
  for (const type of consumes) {
    const handler = handlers[type] as unknown as Handler<EventType> | undefined;
    if (handler !== undefined) map.set(type, handler);
  }
  return map;
}

/** What start() opened so far; close() closes whatever is there. */
interface Opened {
  deps?: RuntimeDeps;
  metrics?: RuntimeMetrics;
  http?: HealthServer;
  handling?: Handling;
  monitor?: DependencyMonitor;
  probeKafka?: ReturnType<typeof kafkaProbe>;
  admin?: Admin;
  transactions?: PartitionTransactions;
  producer?: Producer;
  consumer?: Consumer;
  stores?: StateStores<unknown>;
  wakeTimer?: NodeJS.Timeout;
}

/**
 * Defines a worker: the shared consume → decode → dedupe → handle → publish → commit loop (createConsumeLoop,
 * createHandling), its health server and its lifecycle (WorkerStates). Nothing connects before start().
 */
export function defineWorker<C extends EventType, S = unknown>(definition: WorkerDefinition<C, S>): Worker {
  const { name, config: cfg } = definition;
  const producerName = `${name}@${definition.version ?? DEFAULT_WORKER_VERSION}`;
  const consumes = [...new Set(definition.consumes)];
  const groupId = cfg.groupId ?? `${cfg.topicPrefix}.${name}`;
  const logger = definition.deps?.logger ?? pino({ name, level: cfg.logLevel });
  const lifecycle = new WorkerLifecycle(name, logger);
  const running = (): boolean => lifecycle.state === WorkerStates.running;
  const abort = new AbortController();
  /** Aborted by close(): a start waiting for a dependency stops waiting. */
  const stopStarting = new AbortController();
  // Every in-flight handling may listen on this signal several times at once; see ABORT_LISTENERS_PER_HANDLING.
  setMaxListeners(Math.max(10, ABORT_LISTENERS_PER_HANDLING * cfg.concurrency), abort.signal);
  const crashListeners: Array<(e: Error) => void> = [];
  const recent = new DedupeWindow(DEDUPE_WINDOW_EVENTS);
  const opened: Opened = {};
  let joined = false;
  let starting: Promise<void> | undefined;
  let closing: Promise<{ forced: boolean }> | undefined;

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new LifecycleError(`${name}: ${what} is not available before start()`);
    return value;
  };
  const inFlight = (): number => opened.handling?.inFlight() ?? 0;
  const wedgedAfterMs = cfg.wedgedAfterMs ?? DEFAULT_WEDGED_AFTER_MS;
  /** What is stuck, when one handling has run longer than wedgedAfterMs (liveness then fails). */
  const wedged = (): string | undefined => {
    const ms = opened.handling?.longestRunningMs() ?? 0;
    return ms > wedgedAfterMs
      ? `one event's handling has run ${Math.round(ms)} ms (limit ${wedgedAfterMs} ms)`
      : undefined;
  };

  /**
   * The state stores of a stateful worker (ADR 0027): its compacted changelog created with one partition per
   * partition number of its topics, which must all have the same count (the co-partitioned assignor needs it).
   */
  async function openStateStores(
    d: RuntimeDeps,
    admin: Admin,
    txs: PartitionTransactions,
    topics: readonly string[],
  ): Promise<StateStores<unknown>> {
    const state = definition.state!;
    const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
    const counts = new Set(metadata.topics.map((t) => t.partitions.length));
    if (counts.size !== 1) {
      throw new LifecycleError(
        `${name} keeps state, so its topics must have one partition count: ${metadata.topics.map((t) => `${t.name}=${t.partitions.length}`).join(', ')}`,
      );
    }
    const changelog = d.topics.stateOf(name);
    await ensureTopics(admin, [changelog], { partitions: [...counts][0]!, configs: stateChangelogConfig });
    const metrics = opened.metrics!;
    return (opened.stores = new StateStores<unknown>({
      kafka: d.kafka,
      topic: changelog,
      groupId,
      schema: state.schema,
      logger: d.logger,
      fence: async (partition) => {
        for (const topic of topics) await txs.fence(topic, partition);
      },
      idleTtlMs: cfg.stateIdleTtlMs ?? DEFAULT_STATE_IDLE_TTL_MS,
      onCorrupt: () => metrics.errors.add(1, { worker: name, code: 'STATE_RECORD_CORRUPT' }),
    }));
  }

  /**
   * Runs what is due every wakeCheckIntervalMs, for each partition number held here, under its lock, in one
   * transaction (on the producer of the partition of the first consumed topic: fenced like the others, no offset):
   * each due task's onWake (TaskState.wakeAt) with its outputs and state, and a tombstone for each task whose state
   * nobody wrote for the idle TTL (a task that never ended: its end was lost, or it never comes). A failure is logged
   * and tried at the next check.
   */
  function startWakes(
    stores: StateStores<unknown>,
    topic: string,
    handling: Handling,
    txs: PartitionTransactions,
  ): void {
    const onWake = definition.state!.onWake as Parameters<Handling['wake']>[2] | undefined;
    const idleTtlMs = cfg.stateIdleTtlMs ?? DEFAULT_STATE_IDLE_TTL_MS;
    let waking = false;
    const wakeDue = async (): Promise<void> => {
      for (const store of stores.loaded()) {
        const { partition } = store.changelog;
        if (!running() || !store.hasDue(Date.now())) continue;
        const release = await store.lock();
        try {
          const due = store.due(Date.now());
          const producer = txs.held(topic, partition);
          // A store dropped by a rebalance (even if restored again since) is never written from.
          if (due.wake.length + due.expire.length === 0 || producer === undefined || !stores.holds(store)) continue;
          const layer = store.begin();
          const outputs = [];
          for (const taskId of due.wake) {
            if (onWake !== undefined) outputs.push(...(await handling.wake(taskId, layer, onWake)));
            else layer.handle(taskId).wakeAt(undefined); // nothing to wake: the request is dropped
          }
          for (const taskId of due.expire) {
            layer.handle(taskId).delete();
            logger.warn({ taskId, partition, idleTtlMs }, 'task state dropped: nothing wrote it for the idle TTL');
            opened.metrics?.errors.add(1, { worker: name, code: 'STATE_EXPIRED' });
          }
          await txs.commit(producer, { topic, partition }, [...outputs, ...store.recordsOf(layer)]);
          store.apply(layer);
        } catch (error) {
          logger.error({ err: error, partition }, 'wake-up failed: tried again at the next check');
        } finally {
          release();
        }
      }
    };
    opened.wakeTimer = setInterval(() => {
      if (waking) return;
      waking = true;
      wakeDue()
        .catch((error: unknown) => logger.error({ err: error }, 'wake-ups failed: tried again at the next check'))
        .finally(() => (waking = false));
    }, definition.state!.wakeCheckIntervalMs ?? STATE_WAKE_CHECK_INTERVAL_MS);
    opened.wakeTimer.unref();
  }

  async function open(): Promise<void> {
    const startDeadlineMs = Date.now() + (cfg.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    /** A step of the start, tried again while a dependency is down or slow to answer (until the start deadline). */
    const step = <T>(what: string, run: () => Promise<T>): Promise<T> =>
      retryWhileStarting(what, run, {
        deadlineMs: startDeadlineMs,
        policy: {
          retryBaseMs: cfg.outageRetryBaseMs ?? DEFAULT_OUTAGE_RETRY_BASE_MS,
          retryMaxMs: cfg.outageRetryMaxMs ?? DEFAULT_OUTAGE_RETRY_MAX_MS,
        },
        logger,
        signal: AbortSignal.any([abort.signal, stopStarting.signal]),
      });
    const d = (opened.deps = definition.deps ?? (await connectRuntime(name, cfg, logger)));
    const metrics = (opened.metrics = definition.metrics ?? createRuntimeMetrics(name));
    // Its own quiet client: a probe of a broker that is down must not log kafkajs's errors every interval.
    const probeKafka = (opened.probeKafka = kafkaProbe(
      createKafka(cfg.brokers, `${name}-probe`, pino({ level: 'silent' }), cfg.kafkaSecurity),
    ));
    const monitor = (opened.monitor = new DependencyMonitor({
      worker: name,
      probes: { kafka: probeKafka, registry: registryProbe(cfg.registryUrl), mongo: mongoProbe(d.db) },
      intervalMs: cfg.healthProbeIntervalMs ?? DEFAULT_HEALTH_PROBE_INTERVAL_MS,
      timeoutMs: cfg.healthProbeTimeoutMs ?? DEFAULT_HEALTH_PROBE_TIMEOUT_MS,
      logger: d.logger,
    }));
    opened.http = await startHealthServer({
      host: cfg.httpHost,
      port: cfg.httpPort,
      status: () => {
        const stuck = wedged();
        return {
          worker: name,
          state: lifecycle.state,
          joined,
          inFlight: inFlight(),
          dependencies: monitor.snapshot(),
          ...(stuck === undefined ? {} : { wedged: stuck }),
        };
      },
      metrics: (req, res) => metrics.handle(req, res),
    });
    await monitor.start();
    await step('register the schemas', () => d.codec.registerAll());
    const handlers = typeof definition.handlers === 'function' ? await definition.handlers(d) : definition.handlers;
    const handling = (opened.handling = createHandling({
      worker: name,
      producer: producerName,
      groupId,
      handlers: handlerMap(consumes, handlers),
      codec: d.codec,
      topics: d.topics,
      logger: d.logger,
      metrics,
      retry: cfg,
      signal: abort.signal,
      running,
    }));
    const admin = (opened.admin = d.kafka.admin());
    await step('connect the admin client', () => admin.connect());
    if (definition.createTopics !== false) await step('create the topics', () => ensureTopics(admin, d.topics.all()));
    const txs = (opened.transactions = new PartitionTransactions(
      d.kafka,
      admin,
      groupId,
      cfg.transactionTimeoutMs,
      d.logger,
      { coordinatorLookups: cfg.coordinatorLookups ?? 'per-transaction' },
    ));
    const producer = (opened.producer = d.kafka.producer(producerConfig));
    await step('connect the producer', () => producer.connect());
    const topics = d.topics.forTypes(consumes);
    const stores =
      definition.state === undefined
        ? undefined
        : await step('open the state stores', () => openStateStores(d, admin, txs, topics));
    const sessionTimeoutMs = cfg.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    const consumer = (opened.consumer = d.kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs(sessionTimeoutMs),
      maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
      // A stateful worker: partition p of every topic to one member, the one that holds the state of its tasks.
      ...(stores === undefined ? {} : { partitionAssigners: [coPartitionedAssigner] }),
    }));
    const joinedOnce = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        resolve();
        if (stores !== undefined) {
          const assigned = new Set(Object.values(payload.memberAssignment).flat());
          stores.retain(assigned);
          // Restored when assigned, not when the first event comes (that chunk awaits the same restore).
          for (const partition of assigned) {
            stores.load(partition).catch((error: unknown) => {
              d.logger.warn({ err: error, partition }, 'state restore failed: tried again by the first chunk');
            });
          }
        }
        txs
          .retain(payload.memberAssignment)
          .catch((error: unknown) => d.logger.warn({ err: error }, 'could not close producers of revoked partitions'));
      });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      d.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      // A crash while draining or after is the close's business, not a failure.
      if (!payload.restart && lifecycle.tryMoveTo(WorkerStates.failed, { err: payload.error })) {
        for (const l of crashListeners) l(payload.error);
      }
    });
    await step('connect the consumer', () => consumer.connect());
    await step('subscribe', () => consumer.subscribe({ topics, fromBeginning: true }));
    // Offsets are committed inside each chunk's transaction, never by the consumer itself.
    await consumer.run({
      partitionsConsumedConcurrently: cfg.concurrency,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: createConsumeLoop({
        worker: name,
        limits: {
          batchSize: cfg.batchSize ?? DEFAULT_BATCH_SIZE,
          commitIntervalMs: cfg.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
        },
        heartbeatCheckIntervalMs: HEARTBEAT_CHECK_INTERVAL_MS,
        transactions: txs,
        handling,
        metrics,
        recent,
        running,
        outages: monitor,
        outageRetry: {
          retryBaseMs: cfg.outageRetryBaseMs ?? DEFAULT_OUTAGE_RETRY_BASE_MS,
          retryMaxMs: cfg.outageRetryMaxMs ?? DEFAULT_OUTAGE_RETRY_MAX_MS,
        },
        ...(stores === undefined ? {} : { state: stores }),
      }),
    });
    if (stores !== undefined) startWakes(stores, topics[0]!, handling, txs);
    lifecycle.moveTo(WorkerStates.running, { groupId, topics, http: opened.http.address() });
    await joinedOnce;
    await definition.onStarted?.(d);
  }

  /** Stops the consumer (its chunks in flight finish and commit) within the grace period; then forces. */
  async function drain(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), cfg.shutdownGraceMs);
    });
    try {
      await definition.onClosing?.();
      clearInterval(opened.wakeTimer);
      const stopped = (async () => {
        await starting?.catch(() => undefined); // a start in progress settles first (it cannot reach running now)
        await opened.consumer?.stop();
        return 'drained' as const;
      })();
      if ((await Promise.race([stopped, deadline])) === 'drained') return false;
      abort.abort(
        new ShutdownTimeoutError('shutdown grace period expired', {
          details: { worker: name, graceMs: cfg.shutdownGraceMs, inFlight: inFlight() },
        }),
      );
      logger.error({ inFlight: inFlight(), graceMs: cfg.shutdownGraceMs }, 'drain timed out: forcing');
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  const worker: Worker = {
    name,
    state: () => lifecycle.state,
    inFlight,
    deps: () => need(opened.deps, 'deps'),
    httpAddress: () => opened.http?.address(),
    publisher: () => {
      const d = need(opened.deps, 'deps');
      return new Publisher(need(opened.producer, 'producer'), d.codec, d.topics);
    },
    onCrash: (listener) => void crashListeners.push(listener),

    async start() {
      lifecycle.moveTo(WorkerStates.starting);
      starting = open();
      try {
        await starting;
      } catch (error) {
        lifecycle.tryMoveTo(WorkerStates.failed, { err: error });
        throw error;
      }
    },

    close() {
      stopStarting.abort(new LifecycleError(`${name} closed while starting`));
      closing ??= (async () => {
        if (lifecycle.is(WorkerStates.created)) {
          lifecycle.moveTo(WorkerStates.stopped);
          return { forced: false };
        }
        const failed = lifecycle.is(WorkerStates.failed);
        if (!failed) lifecycle.moveTo(WorkerStates.draining, { inFlight: inFlight() });
        const forced = await drain();
        const { consumer, producer, transactions, admin, http, metrics, deps, monitor, probeKafka } = opened;
        monitor?.stop();
        await closeInOrder(
          [
            ['probes', probeKafka && (() => probeKafka.close())],
            ['consumer', consumer && (() => consumer.disconnect())],
            ['producer', producer && (() => producer.disconnect())],
            ['transactions', transactions && (() => transactions.closeAll())],
            ['admin', admin && (() => admin.disconnect())],
            ['http', http && (() => http.close())],
            ['metrics', metrics && (() => metrics.shutdown())],
            ['mongo', definition.deps === undefined && deps !== undefined ? () => deps.mongo.close() : undefined],
          ],
          logger,
          name,
        );
        if (failed) logger.info({ forced }, `${name} closed in state failed`);
        else lifecycle.moveTo(WorkerStates.stopped, { forced });
        return { forced };
      })();
      return closing;
    },
  };
  return worker;
}
