import {
  closeInOrder,
  connectRuntime,
  createAuditorMetrics,
  createRuntimeMetrics,
  offsetsOf,
  producerConfig,
  type RuntimeDeps,
  subjectKeysOf,
} from '@warden/runtime';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { AlertRaiser } from './alerts.js';
import { buildQueryApi } from './api/server.js';
import { checkpointTopic, writeCheckpoints } from './checkpoints/checkpointer.js';
import type { AuditorConfig } from './config.js';
import { AuditorLifecycleError } from './errors.js';
import { ProjectorConsumer, Serial } from './projector/consumer.js';
import { Projection, type ProjectedInput } from './projector/projection.js';
import { ReadFrontier, endOffsetsOf } from './projector/read-frontier.js';
import { AuditStore } from './projector/store.js';
import { ensureAuditTopics } from './topics/topic-settings.js';

/** The auditor's name and version, stamped on its alerts and checkpoints. */
export const AUDITOR_NAME = 'auditor';
export const AUDITOR_VERSION = '0.1.0';

/** The states of the auditor. */
export type AuditorState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Options of an auditor beyond its configuration (tests and benches). */
export interface AuditorOptions {
  readonly config: AuditorConfig;
  /** Connections to reuse; otherwise the auditor opens and closes its own. */
  readonly deps?: RuntimeDeps;
  /** Collection prefix of the projection. Default `audit_`. */
  readonly collectionPrefix?: string;
  /** Consumer group. Default `<topicPrefix>.auditor`. */
  readonly groupId?: string;
  /** Called after each projected batch (lag measurement). */
  readonly onProjected?: (inputs: readonly ProjectedInput[]) => void;
}

/** A running auditor: projection, verification, alerts, checkpoints and the query API. */
export interface Auditor {
  start(): Promise<void>;
  /** Stops consuming, writes a last checkpoint round and closes; idempotent. */
  close(): Promise<void>;
  state(): AuditorState;
  /** The query API's address once started. */
  apiAddress(): { host: string; port: number } | undefined;
  readonly store: () => AuditStore;
  /** Runs the periodic work now: settle quiet tasks, alert, write checkpoints. */
  tick(): Promise<void>;
  onCrash(listener: (error: Error) => void): void;
}

/** Builds the auditor. */
export function createAuditor(options: AuditorOptions): Auditor {
  const cfg = options.config;
  const producerName = `${AUDITOR_NAME}@${AUDITOR_VERSION}`;
  let state: AuditorState = 'created';
  let deps: RuntimeDeps | undefined;
  let store: AuditStore | undefined;
  let projection: Projection | undefined;
  let consumer: ProjectorConsumer | undefined;
  let producer: Producer | undefined;
  let api: FastifyInstance | undefined;
  let alerts: AlertRaiser | undefined;
  let admin: Admin | undefined;
  const frontier = new ReadFrontier();
  let frontierFailing = false;
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const serial = new Serial();
  const metrics = createRuntimeMetrics(AUDITOR_NAME);
  const agentMetrics = createAuditorMetrics(metrics.meter);
  const dlqHighWatermarks = new Map<number, number>();
  const crashListeners: Array<(e: Error) => void> = [];

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new AuditorLifecycleError(`auditor: ${what} is not available before start()`);
    return v;
  };

  /**
   * Records the log's end offsets now and returns the newest recorded moment the projection has read past (see
   * ReadFrontier). Without a broker it records nothing: no absent cause is declared missing meanwhile.
   */
  const readFrontier = async (): Promise<number | undefined> => {
    const c = need(consumer, 'consumer');
    try {
      const at = Date.now();
      const a = need(admin, 'admin');
      const topics = need(deps, 'deps').topics.all();
      const offsets = await Promise.all(
        topics.map(async (topic) => ({ topic, partitions: await a.fetchTopicOffsets(topic) })),
      );
      frontier.observe(at, endOffsetsOf(offsets));
      if (frontierFailing) deps?.logger.info('auditor reads the log end offsets again');
      frontierFailing = false;
    } catch (error) {
      if (!frontierFailing) {
        deps?.logger.warn({ err: error }, 'auditor cannot read the log end offsets: no cause is declared missing');
      }
      frontierFailing = true;
    }
    return frontier.advance((topic, partition) => c.position(topic, partition));
  };

  const tick = async (): Promise<void> => {
    await serial.run(async () => {
      const p = need(projection, 'projection');
      await need(alerts, 'alerts').raise(await p.settle(false, await readFrontier()));
      await writeCheckpoints(
        p,
        need(store, 'store'),
        need(producer, 'producer'),
        checkpointTopic(cfg.runtime.topicPrefix),
        cfg.checkpointKey,
        producerName,
      );
    });
    // The summaries the settle changed (and any not written yet), outside the serial section: a flush under load
    // takes seconds on FerretDB, and batches go on being projected meanwhile.
    await need(consumer, 'consumer').flushAndCommit();
  };

  const crash = (error: Error): void => {
    state = 'failed';
    for (const l of crashListeners) l(error);
  };

  const auditor: Auditor = {
    state: () => state,
    store: () => need(store, 'store'),
    onCrash: (l) => void crashListeners.push(l),
    tick,
    apiAddress: () => {
      const a = api?.server.address();
      return a !== null && typeof a === 'object' && a !== undefined ? { host: a.address, port: a.port } : undefined;
    },

    async start() {
      if (state !== 'created') throw new AuditorLifecycleError(`auditor: start() called in state ${state}`);
      state = 'starting';
      try {
        deps = options.deps ?? (await connectRuntime(AUDITOR_NAME, cfg.runtime));
        const d = deps;
        const topics = [...d.topics.all(), checkpointTopic(cfg.runtime.topicPrefix)];
        admin = d.kafka.admin();
        await admin.connect();
        await ensureAuditTopics(admin, topics);
        // The DLQ's depth from the start (then kept by each batch read from it).
        const dlqTopic = d.topics.of('dlq');
        // Waits out a topic created a moment ago whose leader is not elected yet (a retriable answer).
        for (const p of await offsetsOf(admin, dlqTopic)) dlqHighWatermarks.set(p.partition, Number(p.high));
        agentMetrics.dlqDepth(
          dlqTopic,
          [...dlqHighWatermarks.values()].reduce((a, b) => a + b, 0),
        );
        store = new AuditStore(d.db, options.collectionPrefix);
        const subjectKeys = subjectKeysOf(d.db, cfg.runtime);
        projection = new Projection(store, {
          settleMs: cfg.settleMs,
          maxTasksInMemory: cfg.maxTasksInMemory,
          ...(cfg.verifyCacheBytes === undefined ? {} : { verifyCacheBytes: cfg.verifyCacheBytes }),
          ...(cfg.runtime.producerKeys === undefined ? {} : { producerKeys: cfg.runtime.producerKeys }),
        });
        if ((cfg.runtime.producerKeys?.size ?? 0) === 0) {
          d.logger.warn(
            'no WARDEN_PRODUCER_PUBLIC_KEYS: events are verified by their chain links only, not by producer',
          );
        }
        await projection.init();
        await d.codec.registerAll();
        producer = d.kafka.producer(producerConfig);
        await producer.connect();
        alerts = new AlertRaiser(store, d.codec, producer, d.topics, producerName, d.logger, (kind) =>
          agentMetrics.chainBreak(kind),
        );
        await alerts.republishPending();
        const raiser = alerts;
        consumer = new ProjectorConsumer({
          kafka: d.kafka,
          codec: d.codec,
          projection,
          topics: d.topics.all(),
          groupId: options.groupId ?? cfg.runtime.groupId ?? `${cfg.runtime.topicPrefix}.${AUDITOR_NAME}`,
          logger: d.logger,
          serial,
          ...(cfg.taskFlushMs === undefined ? {} : { taskFlushMs: cfg.taskFlushMs }),
          onFindings: async (findings) => void (await raiser.raise(findings)),
          onProjected: (inputs) => {
            // An erasure holds in the API at once: the erased subject's cached key is dropped (ADR 0026).
            for (const i of inputs) {
              const e = i.decoded.event;
              if (e.type === 'SubjectErased') subjectKeys.forget(e.data.subject);
            }
            const newest = inputs.reduce((t, i) => Math.max(t, Date.parse(i.decoded.envelope.occurredAt)), 0);
            if (newest > 0) agentMetrics.projected((Date.now() - newest) / 1000);
            options.onProjected?.(inputs);
          },
          onBatch: (topic, partition, highWatermark) => {
            if (topic !== dlqTopic) return;
            // Audit topics never delete: the high watermarks are the messages the DLQ holds.
            dlqHighWatermarks.set(partition, Number(highWatermark));
            let depth = 0;
            for (const hw of dlqHighWatermarks.values()) depth += hw;
            agentMetrics.dlqDepth(topic, depth);
          },
        });
        await consumer.start(crash);
        api = buildQueryApi({
          store,
          blobs: d.blobs,
          keys: cfg.apiKeys,
          personalDataKeys: cfg.personalDataKeys ?? [],
          subjectKeys,
          checkpointKey: cfg.checkpointKey,
          metrics: (req, res) => metrics.handle(req, res),
          liveChain: (taskId, tenantId) => projection?.liveChain(taskId, tenantId),
        });
        await api.listen({ port: cfg.apiPort, host: cfg.apiHost });
        timer = setInterval(() => {
          tick().catch((error: unknown) => d.logger.warn({ err: error }, 'auditor tick failed'));
        }, cfg.checkpointIntervalMs);
        timer.unref();
        state = 'running';
        d.logger.info({ api: auditor.apiAddress(), topics }, 'auditor running');
      } catch (error) {
        await auditor.close().catch(() => undefined);
        state = 'failed';
        throw error;
      }
    },

    close() {
      closing ??= (async () => {
        const previous = state;
        state = 'stopping';
        if (timer !== undefined) clearInterval(timer);
        const log = deps?.logger;
        await closeInOrder(
          [
            ['consumer', consumer === undefined ? undefined : () => consumer!.stop()],
            ['tick', previous === 'running' ? () => tick() : undefined],
            ['api', api === undefined ? undefined : () => api!.close()],
            ['producer', producer === undefined ? undefined : () => producer!.disconnect()],
            ['admin', admin === undefined ? undefined : () => admin!.disconnect()],
            ['metrics', () => metrics.shutdown()],
            ['mongo', options.deps === undefined && deps !== undefined ? () => deps!.mongo.close() : undefined],
          ],
          log,
          'the auditor',
        );
        state = previous === 'failed' ? 'failed' : 'stopped';
      })();
      return closing;
    },
  };
  return auditor;
}
