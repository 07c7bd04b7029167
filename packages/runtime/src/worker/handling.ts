import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import {
  follow,
  type ChainLink,
  type DecodedEvent,
  type EncodedEvent,
  type EventCodec,
  type EventDraft,
  type EventType,
  type WardenError,
  type WireEnvelope,
} from '@warden/contracts';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { EventIdConflictError } from '../errors.js';
import { FailureKinds, asInfrastructureError, dependencyOf, failureKindOf } from '../infrastructure.js';
import { toOutgoing, type OutgoingMessage } from '../publisher.js';
import {
  RuntimeSpanAttributes as A,
  extractTraceContext,
  runtimeTracer,
  traceIdOf,
  type RuntimeMetrics,
} from '../telemetry.js';
import { taskRootContext, taskRootsEnabled } from '../telemetry-sdk.js';
import type { Topics } from '../topics.js';
import { deadLetterAlertDraft, deadLetterDraft } from './dead-letter.js';
import { FailureOutcomes, errorCodeOf, isRetryable, withRetries, type Attempted, type RetryPolicy } from './retry.js';
import type { StateLayer, TaskState } from './state-store.js';
import type { Handler, HandlerContext, StateDefinition, WakeContext } from './types.js';

/** ctx.state of a worker that declares no state. */
const noState: TaskState<unknown> = new Proxy({} as TaskState<unknown>, {
  get: () => () => {
    throw new Error('this worker declares no state (WorkerDefinition.state): ctx.state is not available');
  },
});

/** The partition a message was consumed from. */
export interface PartitionSource {
  readonly topic: string;
  readonly partition: number;
}

/** A consumed message after decoding: the event, or why it could not be decoded. */
export interface ConsumedItem {
  readonly message: KafkaMessage;
  /** What identifies the event for deduplication: group and event id (group, topic, partition, offset if undecoded). */
  readonly key: string;
  readonly decoded?: DecodedEvent;
  readonly decodeError?: WardenError;
}

/**
 * A handler context's publish: each response is chained to the one before it in the same handling (the first to
 * `cause`), encoded through the codec (validated, redacted), and handed to `collect`; nothing is sent here.
 */
export function chainedPublish(
  cause: ChainLink,
  codec: Pick<EventCodec, 'encode'>,
  producer: string,
  collect: (encoded: EncodedEvent, draft: EventDraft) => void,
): HandlerContext['publish'] {
  let link = cause;
  return async (type, data, options) => {
    const draft = follow(options?.cause ?? link, type, data, {
      producer,
      ...(options?.policyVersion === undefined ? {} : { policyVersion: options.policyVersion }),
    });
    const encoded = await codec.encode(draft);
    link = { envelope: encoded.envelope, hash: encoded.hash };
    collect(encoded, draft);
    return encoded;
  };
}

/**
 * The fields of a handling's log lines: the event's ids, and the trace_id and span_id of its span (OpenTelemetry's
 * log field names, so a log backend links the line to the trace) while tracing is on.
 */
export function handlingLogFields(envelope: WireEnvelope, span: Span | undefined): Record<string, unknown> {
  const traceId = span === undefined ? undefined : traceIdOf(span);
  return {
    eventId: envelope.id,
    type: envelope.type,
    taskId: envelope.taskId,
    tenantId: envelope.tenantId,
    traceId,
    ...(traceId === undefined ? {} : { trace_id: traceId, span_id: span!.spanContext().spanId }),
  };
}

/** What a Handling needs: the worker's identity, its connections and its one retry policy. */
export interface HandlingOptions {
  readonly worker: string;
  /** The producer field of published events (`name@version`). */
  readonly producer: string;
  readonly groupId: string;
  /** Handlers by consumed event type; other types are skipped. */
  readonly handlers: ReadonlyMap<EventType, Handler<EventType>>;
  readonly codec: EventCodec;
  readonly topics: Topics;
  readonly logger: Logger;
  readonly metrics: Pick<RuntimeMetrics, 'errors' | 'deadLettered' | 'inFlight' | 'handlerDuration'>;
  readonly retry: RetryPolicy;
  /** The worker's abort signal: fires when the grace period of a close is over. */
  readonly signal: AbortSignal;
  /** Whether the worker still runs (a draining worker retries nothing and dead-letters nothing retryable). */
  readonly running: () => boolean;
}

/** Decoding and handling of consumed messages, one at a time per partition. */
export interface Handling {
  /**
   * Decodes a message, retrying what may pass later. A message that can never be decoded comes back with its
   * decodeError (for the DLQ); one that still fails in a way that may pass later (the registry or blob store is
   * down) throws, so the batch is retried and good data is never dead-lettered.
   */
  decode(source: PartitionSource, message: KafkaMessage): Promise<ConsumedItem>;
  /**
   * Handles one item with retries and returns what to publish: the handler's outputs, a DeadLettered event, or
   * nothing for a type it does not consume. Throws when the event is released uncommitted (the worker stops).
   */
  handle(source: PartitionSource, item: ConsumedItem, state?: StateLayer<unknown>): Promise<OutgoingMessage[]>;
  /**
   * Runs a stateful worker's onWake for one task (its wake-up is due) and returns what it published; the task's
   * wake-up is cleared first (onWake may ask for another). A failure is thrown: the caller aborts the wake-up's
   * transaction and tries again later.
   */
  wake(
    taskId: string,
    state: StateLayer<unknown>,
    onWake: NonNullable<StateDefinition<unknown>['onWake']>,
  ): Promise<OutgoingMessage[]>;
  /**
   * The outputs for an event whose id was handled before with other content: a DeadLettered event (with its alert)
   * naming the id conflict. Never handled.
   */
  conflict(source: PartitionSource, item: ConsumedItem, seenHash: string): Promise<OutgoingMessage[]>;
  /** Items being handled now. */
  inFlight(): number;
  /** How long the oldest handling in flight has run, in ms (0 when none is). */
  longestRunningMs(): number;
}

/**
 * Throws what must not be dead-lettered: an outage as an InfrastructureError naming the dependency (the consume loop
 * waits for it and handles the chunk again), and an event released uncommitted (the worker stops) as it is.
 */
function throwIfNotDeadLettered(result: Extract<Attempted<unknown>, { ok: false }>): void {
  if (result.outcome === FailureOutcomes.waitForDependency) {
    const dependency = dependencyOf(result.error);
    if (dependency !== undefined) throw asInfrastructureError(result.error, dependency);
  }
  if (result.outcome !== FailureOutcomes.deadLetter) throw result.error; // left uncommitted
}

/** Builds the Handling of a worker. */
export function createHandling(options: HandlingOptions): Handling {
  const { worker, codec, topics, metrics: m, signal, running } = options;
  let inFlight = 0;
  /** Start times (performance.now) of the handlings in flight, oldest first (a Set keeps insertion order). */
  const startedAt = new Set<{ readonly ms: number }>();

  async function deadLetter(
    source: PartitionSource,
    item: ConsumedItem,
    error: unknown,
    attempts: number,
  ): Promise<OutgoingMessage[]> {
    const draft = deadLetterDraft({
      worker,
      producer: options.producer,
      topic: source.topic,
      partition: source.partition,
      message: item.message,
      ...(item.decoded === undefined ? {} : { envelope: item.decoded.envelope }),
      error,
      attempts,
    });
    const encoded = await codec.encode(draft);
    const alert = await codec.encode(deadLetterAlertDraft(draft, options.producer));
    m.deadLettered.add(1, { worker, code: errorCodeOf(error) });
    return [toOutgoing(encoded, topics), toOutgoing(alert, topics)];
  }

  function startSpan(source: PartitionSource, item: ConsumedItem, decoded: DecodedEvent): { span: Span; ctx: Context } {
    const extracted = extractTraceContext(item.message.headers ?? {});
    const parentSpanContext = trace.getSpanContext(extracted);
    // No producer span (a producer that does not trace): the task's virtual root, so the task stays one trace.
    const parent =
      parentSpanContext === undefined && taskRootsEnabled()
        ? taskRootContext(extracted, decoded.envelope.taskId)
        : extracted;
    const type = decoded.event.type;
    const span = runtimeTracer().startSpan(
      `process ${type}`,
      { kind: SpanKind.CONSUMER, links: parentSpanContext === undefined ? [] : [{ context: parentSpanContext }] },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        [A.system]: 'kafka',
        [A.operation]: 'process',
        [A.destination]: source.topic,
        [A.partition]: String(source.partition),
        [A.offset]: item.message.offset,
        [A.consumerGroup]: options.groupId,
        [A.eventType]: type,
        [A.eventId]: decoded.envelope.id,
        [A.taskId]: decoded.envelope.taskId,
        [A.tenantId]: decoded.envelope.tenantId,
        [A.worker]: worker,
      });
    }
    return { span, ctx: trace.setSpan(parent, span) };
  }

  async function handleDecoded(
    source: PartitionSource,
    item: ConsumedItem,
    decoded: DecodedEvent,
    handler: Handler<EventType>,
    state: StateLayer<unknown> | undefined,
  ): Promise<OutgoingMessage[]> {
    const { span, ctx: spanCtx } = startSpan(source, item, decoded);
    let childLogger: Logger | undefined;
    // Built on first use: most handlings log nothing, and a pino child costs more than the rest of the bookkeeping.
    const logger = (): Logger => (childLogger ??= options.logger.child(handlingLogFields(decoded.envelope, span)));
    const cause: ChainLink = { envelope: decoded.envelope, hash: decoded.hash };
    const sourceOfEvent = { topic: source.topic, partition: source.partition, offset: item.message.offset };
    const started = performance.now();
    const token = { ms: started };
    startedAt.add(token);
    m.inFlight.add(1);
    inFlight++;
    try {
      const result = await withRetries(
        async (attempt) => {
          const out: OutgoingMessage[] = [];
          // The attempt's state writes are kept only if the handler returns (a retry starts from the chunk's).
          const layer = state?.attempt();
          const ctx: HandlerContext = {
            get logger() {
              return logger();
            },
            signal,
            span,
            attempt,
            hash: decoded.hash,
            source: sourceOfEvent,
            publish: chainedPublish(cause, codec, options.producer, (encoded) =>
              out.push(toOutgoing(encoded, topics, spanCtx)),
            ),
            state: layer === undefined ? noState : layer.handle(decoded.envelope.taskId),
          };
          await context.with(spanCtx, () => handler(decoded.event, ctx));
          layer?.keep();
          return out;
        },
        {
          policy: options.retry,
          signal,
          running,
          onFailure: (error, attempt, retriesLeft) => {
            m.errors.add(1, { worker, code: errorCodeOf(error) });
            // An outage is logged once, when the dependency goes down and comes back (the worker's monitor), not
            // on every event that meets it.
            if (failureKindOf(error) !== FailureKinds.infrastructure) {
              logger().warn({ err: error, attempt, retriesLeft }, 'handler failed');
            }
          },
        },
      );
      if (result.ok) {
        span.setStatus({ code: SpanStatusCode.OK });
        return result.value;
      }
      throwIfNotDeadLettered(result);
      const error = result.error as Error;
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
      logger().error({ err: error, attempts: result.attempts }, 'handler gave up: event sent to the DLQ');
      return deadLetter(source, item, error, result.attempts);
    } finally {
      startedAt.delete(token);
      inFlight--;
      m.inFlight.add(-1);
      m.handlerDuration.record((performance.now() - started) / 1000, { worker, type: decoded.event.type });
      span.end();
    }
  }

  return {
    inFlight: () => inFlight,

    longestRunningMs() {
      const oldest = startedAt.values().next();
      return oldest.done === true ? 0 : performance.now() - oldest.value.ms;
    },

    async decode(source, message) {
      const result = await withRetries(() => codec.decode(message.value), { policy: options.retry, signal, running });
      if (result.ok) return { message, key: `${options.groupId}|${result.value.envelope.id}`, decoded: result.value };
      throwIfNotDeadLettered(result);
      if (isRetryable(result.error)) throw result.error;
      return {
        message,
        key: `${options.groupId}|${source.topic}|${source.partition}|${message.offset}`,
        decodeError: result.error as WardenError,
      };
    },

    async conflict(source, item, seenHash) {
      const id = item.decoded?.envelope.id ?? 'unknown';
      const error = new EventIdConflictError(
        `event id ${id} was handled before with other content (hash ${seenHash}, now ${item.decoded?.hash ?? 'unknown'}): not a duplicate, refused`,
        { details: { eventId: id, seenHash, hash: item.decoded?.hash ?? null } },
      );
      m.errors.add(1, { worker, code: error.code });
      options.logger.error(
        { topic: source.topic, partition: source.partition, offset: item.message.offset, eventId: id },
        'event id reused with other content: sent to the DLQ',
      );
      return deadLetter(source, item, error, 1);
    },

    async handle(source, item, state) {
      const decoded = item.decoded;
      if (decoded === undefined) {
        m.errors.add(1, { worker, code: errorCodeOf(item.decodeError) });
        options.logger.warn(
          { topic: source.topic, partition: source.partition, offset: item.message.offset, err: item.decodeError },
          'undecodable message sent to the DLQ',
        );
        return deadLetter(source, item, item.decodeError, 1);
      }
      const handler = options.handlers.get(decoded.event.type);
      if (handler === undefined) return [];
      return handleDecoded(source, item, decoded, handler, state);
    },

    async wake(taskId, state, onWake) {
      const span = runtimeTracer().startSpan('wake', { kind: SpanKind.INTERNAL });
      span.setAttributes({ [A.taskId]: taskId, [A.worker]: worker });
      const spanCtx = trace.setSpan(context.active(), span);
      const layer = state.attempt();
      const task = layer.handle(taskId);
      if (task.get() !== undefined) task.wakeAt(undefined);
      const out: OutgoingMessage[] = [];
      // A wake-up has no consumed event: every publish names its cause (the event the task's state kept).
      const publish: HandlerContext['publish'] = async (type, data, publishOptions) => {
        const cause = publishOptions?.cause;
        if (cause === undefined) throw new Error('a wake-up publishes only with a cause (publish options.cause)');
        return chainedPublish(cause, codec, options.producer, (encoded) =>
          out.push(toOutgoing(encoded, topics, spanCtx)),
        )(type, data, publishOptions);
      };
      const ctx: WakeContext<unknown> = {
        logger: options.logger.child({ taskId, wake: true }),
        signal,
        span,
        publish,
        state: task,
      };
      try {
        await context.with(spanCtx, () => onWake(taskId, ctx));
        layer.keep();
        span.setStatus({ code: SpanStatusCode.OK });
        return out;
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  };
}
