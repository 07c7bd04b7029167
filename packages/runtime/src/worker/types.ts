import type { Span } from '@opentelemetry/api';
import type { ChainLink, EncodedEvent, EventDataInput, EventOf, EventType } from '@warden/contracts';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { RuntimeDeps, WorkerRuntimeConfig } from '../deps.js';
import type { Publisher } from '../publisher.js';
import type { RuntimeMetrics } from '../telemetry.js';
import type { WorkerState } from './lifecycle.js';
import type { TaskState } from './state-store.js';

/** What a handler gets besides its event; S is the worker's state (WorkerDefinition.state). */
export interface HandlerContext<S = unknown> {
  /** A child logger carrying eventId, type, taskId, tenantId and traceId. */
  readonly logger: Logger;
  /** Aborted when the worker is forced to stop (its reason a ShutdownTimeoutError). */
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
   * or none do. Returns the encoded event (its id and hash). `cause` chains it to another event instead (one the
   * handler kept in its state: a verdict on a proposal judged when its task arrived).
   */
  publish<T extends EventType>(
    type: T,
    data: EventDataInput<T>,
    options?: { policyVersion?: string; cause?: ChainLink },
  ): Promise<EncodedEvent>;
  /**
   * The state of the message's task (ADR 0027), for a worker that declares `state`: read from memory, written to
   * the worker's compacted changelog in the same transaction as the outputs and the consumed offset. A worker
   * without state gets a handle that throws on use.
   */
  readonly state: TaskState<S>;
}

/** What a wake-up (TaskState.wakeAt) gets: a handler context without a consumed event (publish needs a cause). */
export type WakeContext<S = unknown> = Pick<HandlerContext<S>, 'logger' | 'signal' | 'span' | 'publish' | 'state'>;

/** A stateful worker's state (ADR 0027). */
export interface StateDefinition<S> {
  /** Validates each value restored from the changelog; a record that fails is skipped with an alert. */
  readonly schema: ZodType<S>;
  /** Runs for a task whose wakeAt time has come, in a transaction of its own (no consumed offset). */
  readonly onWake?: (taskId: string, ctx: WakeContext<S>) => Promise<void>;
  /** How often due wake-ups are looked for (default STATE_WAKE_CHECK_INTERVAL_MS). */
  readonly wakeCheckIntervalMs?: number;
}

/** A handler of one event type. */
export type Handler<T extends EventType, S = unknown> = (event: EventOf<T>, ctx: HandlerContext<S>) => Promise<void>;

/** One handler per consumed event type. */
export type Handlers<C extends EventType, S = unknown> = { readonly [T in C]: Handler<T, S> };

/** A worker's definition: its name, what it consumes and its handlers. */
export interface WorkerDefinition<C extends EventType, S = unknown> {
  /** Worker name, used in the consumer group, logs and the producer field. */
  readonly name: string;
  /** Stamped in the producer field as `name@version` (default DEFAULT_WORKER_VERSION). */
  readonly version?: string;
  /** The event types it consumes; every event on those topics of another type is skipped (and counted). */
  readonly consumes: readonly C[];
  /** Handlers, or a factory given the runtime's connections (for handlers built by createHandlers(deps)). */
  readonly handlers: Handlers<C, S> | ((deps: RuntimeDeps) => Handlers<C, S> | Promise<Handlers<C, S>>);
  /**
   * Keyed state per task (ADR 0027): held in memory per assigned partition number, changelogged to
   * `<prefix>.<name>-state.v1` (compacted) in each chunk's transaction, restored on assignment. A stateful worker's
   * group uses the co-partitioned assignor, so all its topics must share one partition count.
   */
  readonly state?: StateDefinition<S>;
  readonly config: WorkerRuntimeConfig;
  /** Connections to reuse (tests); otherwise the worker opens and closes its own. */
  readonly deps?: RuntimeDeps;
  /** Creates missing Warden topics at start (default true). */
  readonly createTopics?: boolean;
  /** Called once after start, with the runtime's connections (e.g. to start a background loop). */
  readonly onStarted?: (deps: RuntimeDeps) => Promise<void> | void;
  /** Called at close, before connections close. */
  readonly onClosing?: () => Promise<void> | void;
  /**
   * The worker's metrics, when the service records its own (agent metrics) on the same /metrics: created with
   * createRuntimeMetrics(name) before the worker. Otherwise the worker creates them at start. Shut down at close.
   */
  readonly metrics?: RuntimeMetrics;
}

/** A running (or runnable) worker. */
export interface Worker {
  readonly name: string;
  /** Connects, subscribes and starts consuming; resolves when the consumer has joined its group. */
  start(): Promise<void>;
  /** Drains in-flight work within the grace period, then forces; idempotent. */
  close(): Promise<{ forced: boolean }>;
  /** The lifecycle state (see WorkerStates). */
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
