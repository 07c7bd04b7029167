import type { Span } from '@opentelemetry/api';
import type { EncodedEvent, EventDataInput, EventOf, EventType } from '@warden/contracts';
import type { Logger } from 'pino';
import type { RuntimeDeps, WorkerRuntimeConfig } from '../deps.js';
import type { Publisher } from '../publisher.js';
import type { RuntimeMetrics } from '../telemetry.js';
import type { WorkerState } from './lifecycle.js';

/** What a handler gets besides its event. */
export interface HandlerContext {
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
  /** Stamped in the producer field as `name@version` (default DEFAULT_WORKER_VERSION). */
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
