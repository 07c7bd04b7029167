import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import {
  follow,
  isWardenError,
  type ChainLink,
  type DecodedEvent,
  type EncodedEvent,
  type EventDataInput,
  type EventOf,
  type EventType,
  type WardenError,
} from '@warden/contracts';
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_INTERVAL_MS } from './config.js';
import { connectRuntime, type RuntimeDeps, type WorkerRuntimeConfig } from './deps.js';
import { LifecycleError, UNCLASSIFIED_ERROR_CODE } from './errors.js';
import { ensureTopics } from './kafka.js';
import { Publisher, WardenHeaders, producerConfig, toOutgoing, type OutgoingMessage } from './publisher.js';
import {
  RuntimeSpanAttributes as A,
  createRuntimeMetrics,
  extractTraceContext,
  headerText,
  runtimeTracer,
  traceIdOf,
  type RuntimeMetrics,
} from './telemetry.js';
import { closeInOrder } from './signals.js';
import { PartitionTransactions } from './transactions.js';

/** The states of a worker. starting → running → draining → stopped; failed after a crash. */
export const WorkerStates = ['created', 'starting', 'running', 'draining', 'stopped', 'failed'] as const;
export type WorkerState = (typeof WorkerStates)[number];

/** What a handler gets besides its event. */
export interface HandlerContext {
  /** A child logger carrying eventId, type, taskId and traceId. */
  readonly logger: Logger;
  /** Aborted when the worker is forced to stop. */
  readonly signal: AbortSignal;
  /** The span of this handling. */
  readonly span: Span;
  /** 1 on the first attempt, then 2, 3, ... on retries. */
  readonly attempt: number;
  /** The consumed event's hash (what a response names in prevHashes). */
  readonly hash: string;
  /** Where the event came from. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  /**
   * Publishes an event in response: the next seq, chained to the consumed event (or to the previous event
   * published in this handling). Nothing is sent until the handler returns; then all outputs go out together,
   * or none do. Returns the encoded event (its id and hash).
   */
  publish<T extends EventType>(
    type: T,
    data: EventDataInput<T>,
    options?: { policyVersion?: string },
  ): Promise<EncodedEvent>;
}

/** A handler of one event type. */
export type Handler<T extends EventType> = (event: EventOf<T>, ctx: HandlerContext) => Promise<void>;

/** One handler per consumed event type. */
export type Handlers<C extends EventType> = { readonly [T in C]: Handler<T> };

/** A worker's definition: its name, what it consumes and its handlers. */
export interface WorkerDefinition<C extends EventType> {
  /** Worker name, used in the consumer group, logs and the producer field. */
  readonly name: string;
  readonly version?: string;
  /** The event types it consumes; every event on those topics of another type is skipped (and counted). */
  readonly consumes: readonly C[];
  /** Handlers, or a factory given the runtime's connections (for handlers built by createHandlers(deps)). */
  readonly handlers: Handlers<C> | ((deps: RuntimeDeps) => Handlers<C> | Promise<Handlers<C>>);
  readonly config: WorkerRuntimeConfig;
  /** Connections to reuse (tests); otherwise the worker opens and closes its own. */
  readonly deps?: RuntimeDeps;
  /** Creates missing Warden topics at start (default true). */
  readonly createTopics?: boolean;
  /** Called once after start, with the runtime's connections (e.g. to start a background loop). */
  readonly onStarted?: (deps: RuntimeDeps) => Promise<void> | void;
  /** Called at close, before connections close. */
  readonly onClosing?: () => Promise<void> | void;
}

/** A running (or runnable) worker. */
export interface Worker {
  readonly name: string;
  /** Connects, subscribes and starts consuming; resolves when the consumer has joined its group. */
  start(): Promise<void>;
  /** Drains in-flight work within the grace period, then forces; idempotent. */
  close(): Promise<{ forced: boolean }>;
  state(): WorkerState;
  /** Messages being handled now. */
  inFlight(): number;
  /** The health/metrics HTTP address once started. */
  httpAddress(): { host: string; port: number } | undefined;
  /** The runtime's connections once started. */
  deps(): RuntimeDeps;
  /** A publisher for events that are not responses (new tasks). */
  publisher(): Publisher;
  /** Registers a callback for a crash (the consumer stopped for good). */
  onCrash(listener: (error: Error) => void): void;
}

interface Item {
  readonly message: KafkaMessage;
  readonly key: string;
  readonly decoded?: DecodedEvent;
  readonly decodeError?: WardenError;
}

function headersOf(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    const t = headerText(v);
    if (t !== undefined) out[k] = t;
  }
  return out;
}

function errorCode(error: unknown): string {
  return isWardenError(error) ? error.code : UNCLASSIFIED_ERROR_CODE;
}

function isRetryable(error: unknown): boolean {
  return isWardenError(error) ? error.retryable : true;
}

/** A bounded set of recently handled keys (insertion order eviction). */
class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    this.keys.add(key);
    if (this.keys.size > this.max) {
      const oldest = this.keys.values().next();
      if (oldest.done !== true) this.keys.delete(oldest.value);
    }
  }
}

/** How often a long chunk asks kafkajs whether a heartbeat is due (kafkajs's interval is at least a second). */
const HEARTBEAT_CHECK_MS = 250;

/** How many listeners one handling may hold on the worker's abort signal at once (see setMaxListeners below). */
const LISTENERS_PER_HANDLING = 16;

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;

/** Defines a worker: the shared consume → decode → dedupe → handle → publish → commit loop. */
export function defineWorker<C extends EventType>(definition: WorkerDefinition<C>): Worker {
  const cfg = definition.config;
  const producerName = `${definition.name}@${definition.version ?? '0.1.0'}`;
  const consumed = new Set<EventType>(definition.consumes);
  const abort = new AbortController();
  // Every in-flight handling may listen on this signal several times at once (a retry's backoff, a tool call, its
  // fetch), and listeners are removed when each is done. Node warns of a leak past 10 listeners; the bound here
  // is what `concurrency` handlings can legitimately hold, so the warning still catches a real leak.
  setMaxListeners(Math.max(10, LISTENERS_PER_HANDLING * cfg.concurrency), abort.signal);
  const crashListeners: Array<(e: Error) => void> = [];
  let state: WorkerState = 'created';
  let deps: RuntimeDeps | undefined;
  let ownsDeps = false;
  let handlers: Handlers<C> | undefined;
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let transactions: PartitionTransactions | undefined;
  let metrics: RuntimeMetrics | undefined;
  let server: Server | undefined;
  let joined = false;
  const recent = new RecentKeys(50_000);
  let inFlight = 0;
  let closing: Promise<{ forced: boolean }> | undefined;
  const groupId = cfg.groupId ?? `${cfg.topicPrefix}.${definition.name}`;
  const batchSize = cfg.batchSize ?? DEFAULT_BATCH_SIZE;
  const commitIntervalMs = cfg.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new LifecycleError(`${definition.name}: ${what} is not available before start()`);
    return value;
  };

  async function decodeOne(topic: string, partition: number, message: KafkaMessage): Promise<Item> {
    const codec = need(deps, 'deps').codec;
    const fallbackKey = `${groupId}|${topic}|${partition}|${message.offset}`;
    try {
      let decoded: DecodedEvent;
      try {
        decoded = await codec.decode(message.value); // the common case, without the retry machinery
      } catch (first) {
        if (!isRetryable(first) || cfg.maxAttempts < 2) throw first;
        decoded = await pRetry(() => codec.decode(message.value), {
          retries: cfg.maxAttempts - 2,
          minTimeout: cfg.retryBaseMs,
          maxTimeout: cfg.retryMaxMs,
          randomize: true,
          signal: abort.signal,
          shouldRetry: ({ error }) => isRetryable(error) && state === 'running',
        });
      }
      return { message, key: `${groupId}|${decoded.envelope.id}`, decoded };
    } catch (error) {
      if (isRetryable(error)) throw error; // the registry or blob store is down: retry the batch, never DLQ good data
      return { message, key: fallbackKey, decodeError: error as WardenError };
    }
  }

  async function deadLetter(
    topic: string,
    partition: number,
    item: Item,
    error: unknown,
    attempts: number,
  ): Promise<OutgoingMessage> {
    const d = need(deps, 'deps');
    const headers = headersOf(item.message);
    const env = item.decoded?.envelope;
    const candidateTask = env?.taskId ?? headers[WardenHeaders.taskId] ?? item.message.key?.toString() ?? '';
    const taskId = SAFE_ID.test(candidateTask) ? candidateTask : 'unknown';
    const tenant = env?.tenantId ?? headers[WardenHeaders.tenantId] ?? '';
    const err = error as Error;
    const encoded = await d.codec.encode({
      id: crypto.randomUUID(),
      type: 'DeadLettered',
      taskId,
      tenantId: SAFE_ID.test(tenant) ? tenant : 'unknown',
      seq: 0,
      prevHashes: [],
      causationId: env?.id ?? null,
      correlationId: env?.correlationId ?? taskId,
      occurredAt: new Date().toISOString(),
      producer: producerName,
      policyVersion: env?.policyVersion ?? 'none',
      data: {
        worker: definition.name,
        originalTopic: topic,
        partition,
        offset: item.message.offset,
        keyBase64: item.message.key === null ? null : item.message.key.toString('base64'),
        valueBase64: item.message.value === null ? null : item.message.value.toString('base64'),
        headers,
        errorCode: errorCode(error),
        errorMessage: String(err?.message ?? error).slice(0, 8000),
        stack: typeof err?.stack === 'string' ? err.stack.slice(0, 16_000) : null,
        attempts,
      },
    });
    need(metrics, 'metrics').deadLettered.add(1, { worker: definition.name, code: errorCode(error) });
    return toOutgoing(encoded, d.topics);
  }

  async function handle(topic: string, partition: number, item: Item): Promise<OutgoingMessage[]> {
    const d = need(deps, 'deps');
    const m = need(metrics, 'metrics');
    const decoded = item.decoded;
    if (decoded === undefined) {
      m.errors.add(1, { worker: definition.name, code: errorCode(item.decodeError) });
      d.logger.warn(
        { topic, partition, offset: item.message.offset, err: item.decodeError },
        'undecodable message sent to the DLQ',
      );
      return [await deadLetter(topic, partition, item, item.decodeError, 1)];
    }
    const type = decoded.event.type;
    if (!consumed.has(type)) return [];
    const handler = need(handlers, 'handlers')[type as C] as Handler<EventType> | undefined;
    if (handler === undefined) return [];
    const parent = extractTraceContext(item.message.headers ?? {});
    const parentSpanContext = trace.getSpanContext(parent);
    const span = runtimeTracer().startSpan(
      `process ${type}`,
      { kind: SpanKind.CONSUMER, links: parentSpanContext === undefined ? [] : [{ context: parentSpanContext }] },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [A.system]: 'kafka',
        [A.operation]: 'process',
        [A.destination]: topic,
        [A.partition]: String(partition),
        [A.offset]: item.message.offset,
        [A.consumerGroup]: groupId,
        [A.eventType]: type,
        [A.eventId]: decoded.envelope.id,
        [A.taskId]: decoded.envelope.taskId,
        [A.tenantId]: decoded.envelope.tenantId,
        [A.worker]: definition.name,
      });
    }
    const spanCtx = trace.setSpan(parent, span);
    let childLogger: Logger | undefined;
    // Built on first use: most handlings log nothing, and a pino child costs more than the rest of the bookkeeping.
    const logger = (): Logger =>
      (childLogger ??= d.logger.child({
        eventId: decoded.envelope.id,
        type,
        taskId: decoded.envelope.taskId,
        tenantId: decoded.envelope.tenantId,
        traceId: traceIdOf(span),
      }));
    const started = performance.now();
    m.inFlight.add(1);
    inFlight++;
    let attempts = 0;
    const runOnce = async (attempt: number): Promise<OutgoingMessage[]> => {
      attempts = attempt;
      const out: OutgoingMessage[] = [];
      let link: ChainLink = { envelope: decoded.envelope, hash: decoded.hash };
      const ctx: HandlerContext = {
        get logger() {
          return logger();
        },
        signal: abort.signal,
        span,
        attempt,
        hash: decoded.hash,
        source: { topic, partition, offset: item.message.offset },
        publish: async (outType, data, options) => {
          const draft = follow(link, outType, data, {
            producer: producerName,
            ...(options?.policyVersion === undefined ? {} : { policyVersion: options.policyVersion }),
          });
          const encoded = await d.codec.encode(draft);
          link = { envelope: encoded.envelope, hash: encoded.hash };
          out.push(toOutgoing(encoded, d.topics, spanCtx));
          return encoded;
        },
      };
      await context.with(spanCtx, () => handler(decoded.event, ctx));
      return out;
    };
    const shouldRetry = (error: unknown): boolean => isRetryable(error) && state === 'running';
    const failed = (error: unknown, attempt: number, retriesLeft: number): void => {
      m.errors.add(1, { worker: definition.name, code: errorCode(error) });
      logger().warn({ err: error, attempt, retriesLeft }, 'handler failed');
    };
    try {
      let outputs: OutgoingMessage[];
      try {
        outputs = await runOnce(1); // the common case, without the retry machinery
      } catch (first) {
        failed(first, 1, cfg.maxAttempts - 1);
        if (cfg.maxAttempts < 2 || !shouldRetry(first) || abort.signal.aborted) throw first;
        // The first backoff, as p-retry would have waited it (randomised between 1x and 2x the base).
        await sleep(Math.min(cfg.retryBaseMs * (1 + Math.random()), cfg.retryMaxMs), undefined, {
          signal: abort.signal,
        });
        outputs = await pRetry((n) => runOnce(n + 1), {
          retries: cfg.maxAttempts - 2,
          minTimeout: cfg.retryBaseMs,
          maxTimeout: cfg.retryMaxMs,
          factor: 2,
          randomize: true,
          signal: abort.signal,
          shouldRetry: ({ error }) => shouldRetry(error),
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => failed(error, attemptNumber + 1, retriesLeft),
        });
      }
      span.setStatus({ code: SpanStatusCode.OK });
      return outputs;
    } catch (error) {
      if (error instanceof AbortError || abort.signal.aborted) throw error;
      if (isRetryable(error) && state !== 'running') throw error; // draining: leave it uncommitted for the next owner
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      logger().error({ err: error, attempts }, 'handler gave up: event sent to the DLQ');
      return [await deadLetter(topic, partition, item, error, attempts)];
    } finally {
      inFlight--;
      m.inFlight.add(-1);
      m.handlerDuration.record((performance.now() - started) / 1000, { worker: definition.name, type });
      span.end();
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const resolveOffset = (offset: string): void => payload.resolveOffset(offset);
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    const m = need(metrics, 'metrics');
    const txs = need(transactions, 'transactions');
    m.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
    const { producer: txProducer, committedOffset } = await txs.acquire(batch.topic, batch.partition);
    // After fencing, an earlier owner's last transaction is final: skip what it already committed.
    const messages =
      committedOffset === undefined
        ? batch.messages
        : batch.messages.filter((msg) => BigInt(msg.offset) >= committedOffset);
    if (messages.length < batch.messages.length) {
      m.duplicates.add(batch.messages.length - messages.length, { worker: definition.name });
      if (messages.length === 0) resolveOffset(batch.lastOffset());
    }
    // A chunk's outputs and offsets are committed in one transaction. A chunk closes after batchSize events or once
    // commitIntervalMs have passed since it opened (as Kafka Streams commits every commit.interval.ms), so a slow
    // handler's outputs are not held back behind its whole fetch, and a fast one commits hundreds at a time.
    // Chunks are pipelined: the next chunk is handled while the previous one's transaction commits. Transactions of
    // one partition still commit one at a time and in order; if one fails, the ones after it are never committed.
    let lastBeat = performance.now();
    let committing: Promise<void> = Promise.resolve();
    let committingKeys = new Set<string>();
    try {
      let next = 0;
      while (next < messages.length) {
        if (!isRunning() || isStale() || state !== 'running') break;
        const first = next;
        const opened = performance.now();
        const outputs: OutgoingMessage[] = [];
        const handledKeys = new Set<string>();
        do {
          const item = await decodeOne(batch.topic, batch.partition, messages[next]!);
          next++;
          // Duplicates by id (the same event published twice): an in-memory window, filled only once a transaction
          // has committed (a chunk that failed is handled again in full). A crash redelivery needs no window: the
          // crashed transaction was aborted, so nothing of it was ever visible.
          if (recent.has(item.key) || committingKeys.has(item.key) || handledKeys.has(item.key)) {
            m.duplicates.add(1, { worker: definition.name });
          } else {
            handledKeys.add(item.key);
            outputs.push(...(await handle(batch.topic, batch.partition, item)));
          }
          const now = performance.now();
          // kafkajs sends a heartbeat only once its interval has passed; asking it once per event costs more.
          if (now - lastBeat >= HEARTBEAT_CHECK_MS) {
            lastBeat = now;
            await heartbeat();
          }
          // Draining or revoked: commit what was handled (unless revoked) and stop.
          if (state !== 'running' || isStale()) break;
          if (now - opened >= commitIntervalMs) break;
        } while (next < messages.length && next - first < batchSize);
        m.messagesIn.add(next - first, { worker: definition.name, topic: batch.topic });
        await committing;
        if (isStale()) break; // the partition moved: the new owner handles the chunk
        // The last chunk of a fetch also covers the control records (transaction markers) after its last message.
        const lastOffset = next >= messages.length ? batch.lastOffset() : messages[next - 1]!.offset;
        const nextOffset = (BigInt(lastOffset) + 1n).toString();
        committingKeys = handledKeys;
        committing = txs
          .commit(txProducer, { topic: batch.topic, partition: batch.partition, nextOffset }, outputs)
          .then(() => {
            for (const key of handledKeys) recent.add(key);
            m.messagesOut.add(outputs.length, { worker: definition.name });
            resolveOffset(lastOffset);
          });
        committing.catch(() => undefined); // observed below; never an unhandled rejection meanwhile
      }
    } finally {
      await committing;
    }
    await heartbeat();
  }

  function startHttp(): Promise<void> {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/healthz') || url.startsWith('/health/live')) {
        const ok = state === 'starting' || state === 'running' || state === 'draining';
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: state, worker: definition.name }));
      } else if (url.startsWith('/readyz') || url.startsWith('/health/ready')) {
        const ok = state === 'running' && joined;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ready: ok, status: state, joined, inFlight }));
      } else if (url.startsWith('/metrics')) {
        need(metrics, 'metrics').handle(req, res);
      } else {
        res.writeHead(404).end();
      }
    });
    const srv = server;
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(cfg.httpPort, cfg.httpHost, () => resolve());
    });
  }

  const worker: Worker = {
    name: definition.name,
    state: () => state,
    inFlight: () => inFlight,
    deps: () => need(deps, 'deps'),
    httpAddress: () => {
      const a = server?.address() as AddressInfo | null | undefined;
      return a ? { host: a.address, port: a.port } : undefined;
    },
    publisher: () => new Publisher(need(producer, 'producer'), need(deps, 'deps').codec, need(deps, 'deps').topics),
    onCrash: (listener) => void crashListeners.push(listener),

    async start() {
      if (state !== 'created') throw new LifecycleError(`${definition.name}: start() called in state ${state}`);
      state = 'starting';
      ownsDeps = definition.deps === undefined;
      deps = definition.deps ?? (await connectRuntime(definition.name, cfg));
      const d = deps;
      metrics = createRuntimeMetrics(definition.name);
      await startHttp();
      await d.codec.registerAll();
      handlers = typeof definition.handlers === 'function' ? await definition.handlers(d) : definition.handlers;
      admin = d.kafka.admin();
      await admin.connect();
      if (definition.createTopics !== false) await ensureTopics(admin, d.topics.all());
      transactions = new PartitionTransactions(d.kafka, admin, groupId, cfg.transactionTimeoutMs, d.logger);
      const txs = transactions;
      producer = d.kafka.producer(producerConfig);
      await producer.connect();
      consumer = d.kafka.consumer({
        groupId,
        sessionTimeout: cfg.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: Math.min(3_000, Math.floor((cfg.sessionTimeoutMs ?? 30_000) / 3)),
        maxBytesPerPartition: 1024 * 1024,
      });
      const c = consumer;
      const joinedOnce = new Promise<void>((resolve) => {
        c.on(c.events.GROUP_JOIN, ({ payload }) => {
          joined = true;
          resolve();
          txs
            .retain(payload.memberAssignment)
            .catch((error: unknown) =>
              d.logger.warn({ err: error }, 'could not close producers of revoked partitions'),
            );
        });
      });
      c.on(c.events.CRASH, ({ payload }) => {
        d.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
        if (!payload.restart && state !== 'draining' && state !== 'stopped') {
          state = 'failed';
          for (const l of crashListeners) l(payload.error);
        }
      });
      await c.connect();
      await c.subscribe({ topics: d.topics.forTypes([...consumed]), fromBeginning: true });
      // Offsets are committed inside each chunk's transaction, never by the consumer itself.
      await c.run({
        partitionsConsumedConcurrently: cfg.concurrency,
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch,
      });
      state = 'running';
      await joinedOnce;
      await definition.onStarted?.(d);
      d.logger.info(
        { groupId, topics: d.topics.forTypes([...consumed]), http: worker.httpAddress() },
        `${definition.name} running`,
      );
    },

    close() {
      closing ??= (async () => {
        const previous = state;
        if (previous === 'created') {
          state = 'stopped';
          return { forced: false };
        }
        state = 'draining';
        const log = deps?.logger;
        log?.info({ inFlight }, `${definition.name} draining`);
        let forced = false;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), cfg.shutdownGraceMs);
        });
        try {
          await definition.onClosing?.();
          const drained = await Promise.race([
            consumer?.stop().then(() => 'drained' as const) ?? Promise.resolve('drained' as const),
            deadline,
          ]);
          if (drained === 'timeout') {
            forced = true;
            abort.abort(new Error('shutdown grace period expired'));
            log?.error({ inFlight, graceMs: cfg.shutdownGraceMs }, 'drain timed out: forcing');
          }
        } finally {
          clearTimeout(timer);
        }
        await closeInOrder(
          [
            ['consumer', consumer === undefined ? undefined : () => consumer!.disconnect()],
            ['producer', producer === undefined ? undefined : () => producer!.disconnect()],
            ['transactions', transactions === undefined ? undefined : () => transactions!.closeAll()],
            ['admin', admin === undefined ? undefined : () => admin!.disconnect()],
            ['http', server === undefined ? undefined : () => new Promise<void>((r) => server!.close(() => r()))],
            ['metrics', metrics === undefined ? undefined : () => metrics!.shutdown()],
            ['mongo', ownsDeps && deps !== undefined ? () => deps!.mongo.close() : undefined],
          ],
          log,
          definition.name,
        );
        state = previous === 'failed' ? 'failed' : 'stopped';
        log?.info({ forced }, `${definition.name} stopped`);
        return { forced };
      })();
      return closing;
    },
  };
  return worker;
}
