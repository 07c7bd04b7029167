import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Telemetry names used by the runtime: one place, prefixed warden_. */
export const RuntimeMetricNames = {
  messagesIn: 'warden_messages_in',
  messagesOut: 'warden_messages_out',
  handlerDuration: 'warden_handler_duration_seconds',
  commitDuration: 'warden_commit_duration_seconds',
  errors: 'warden_handler_errors',
  deadLettered: 'warden_dead_lettered',
  duplicates: 'warden_duplicates_skipped',
  consumerLag: 'warden_consumer_lag',
  inFlight: 'warden_in_flight',
} as const;

/** Span and attribute names (OpenTelemetry messaging conventions plus Warden's own). */
export const RuntimeSpanAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operation: 'messaging.operation.type',
  partition: 'messaging.destination.partition.id',
  offset: 'messaging.kafka.offset',
  messageKey: 'messaging.kafka.message.key',
  consumerGroup: 'messaging.consumer.group.name',
  eventType: 'warden.event.type',
  eventId: 'warden.event.id',
  taskId: 'warden.task.id',
  tenantId: 'warden.tenant.id',
  worker: 'warden.worker',
  /** A chunk's transaction: the events it publishes, and the state records (changelog) it writes. */
  commitMessages: 'warden.commit.messages',
  commitStateRecords: 'warden.commit.state_records',
} as const;

/** The instruments one worker records into. */
export interface RuntimeMetrics {
  readonly messagesIn: ReturnType<ReturnType<MeterProvider['getMeter']>['createCounter']>;
  readonly messagesOut: ReturnType<ReturnType<MeterProvider['getMeter']>['createCounter']>;
  readonly handlerDuration: ReturnType<ReturnType<MeterProvider['getMeter']>['createHistogram']>;
  /** A chunk's transaction, from the start of its commit to the broker's answer (committed ones). */
  readonly commitDuration: ReturnType<ReturnType<MeterProvider['getMeter']>['createHistogram']>;
  readonly errors: ReturnType<ReturnType<MeterProvider['getMeter']>['createCounter']>;
  readonly deadLettered: ReturnType<ReturnType<MeterProvider['getMeter']>['createCounter']>;
  readonly duplicates: ReturnType<ReturnType<MeterProvider['getMeter']>['createCounter']>;
  /** Messages being handled: a plain count, reported by an observable gauge (no per-message metric call). */
  readonly inFlight: { add(delta: number): void };
  /** Sets the lag of one partition (reported by an observable gauge). */
  setLag(topic: string, partition: number, lag: number): void;
  /** The meter, for a service's own instruments. */
  readonly meter: ReturnType<MeterProvider['getMeter']>;
  /** Serves the Prometheus text format. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

/**
 * A worker's own MeterProvider (not the global one, so several workers can share a process in tests) with a
 * Prometheus exporter served by the worker's HTTP server.
 */
export function createRuntimeMetrics(worker: string): RuntimeMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('@warden/runtime');
  const attrs = { worker };
  const lag = new Map<string, { topic: string; partition: number; lag: number }>();
  let inFlight = 0;
  meter
    .createObservableGauge(RuntimeMetricNames.inFlight, { description: 'Messages being handled' })
    .addCallback((result) => result.observe(inFlight, attrs));
  meter
    .createObservableGauge(RuntimeMetricNames.consumerLag, { description: 'Messages behind the high watermark' })
    .addCallback((result) => {
      for (const l of lag.values()) result.observe(l.lag, { ...attrs, topic: l.topic, partition: l.partition });
    });
  return {
    meter,
    messagesIn: meter.createCounter(RuntimeMetricNames.messagesIn, { description: 'Messages consumed' }),
    messagesOut: meter.createCounter(RuntimeMetricNames.messagesOut, { description: 'Events produced' }),
    handlerDuration: meter.createHistogram(RuntimeMetricNames.handlerDuration, {
      unit: 's',
      description: 'Handler duration, retries included',
      advice: {
        explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      },
    }),
    commitDuration: meter.createHistogram(RuntimeMetricNames.commitDuration, {
      unit: 's',
      description: "A chunk's transaction (its outputs, state records and consumed offsets), committed",
      advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
    }),
    errors: meter.createCounter(RuntimeMetricNames.errors, { description: 'Handler errors by code' }),
    deadLettered: meter.createCounter(RuntimeMetricNames.deadLettered, { description: 'Messages sent to the DLQ' }),
    duplicates: meter.createCounter(RuntimeMetricNames.duplicates, {
      description: 'Redelivered events recognised and skipped',
    }),
    inFlight: {
      add(delta) {
        inFlight += delta;
      },
    },
    setLag(topic, partition, value) {
      lag.set(`${topic}/${partition}`, { topic, partition, lag: value });
    },
    handle(req, res) {
      exporter.getMetricsRequestHandler(req, res);
    },
    shutdown: () => provider.shutdown(),
  };
}

const propagator = new W3CTraceContextPropagator();

/** Writes the current trace context into Kafka headers (traceparent, tracestate). */
export function injectTraceHeaders(ctx: Context, headers: Record<string, string>): void {
  propagator.inject(ctx, headers, {
    set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value),
  });
}

/** A Kafka header value as kafkajs gives it, or a string. */
export type HeaderValue = Buffer | string | ReadonlyArray<Buffer | string> | undefined;

/** The first value of a header as text. */
export function headerText(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  const first = (value as ReadonlyArray<Buffer | string>)[0];
  return first === undefined ? undefined : headerText(first);
}

/** Reads a trace context from Kafka headers; only the headers the propagator asks for are decoded. */
export function extractTraceContext(headers: Readonly<Record<string, HeaderValue>>): Context {
  return propagator.extract(context.active(), headers, {
    get: (carrier: Readonly<Record<string, HeaderValue>>, key: string) => headerText(carrier[key]),
    keys: (carrier: Readonly<Record<string, HeaderValue>>) => Object.keys(carrier),
  });
}

/**
 * The span of one chunk's transaction (its outputs, its state records and the consumed offsets, ADR 0027): from the
 * start of the commit to the broker's answer. It links to the handling spans whose events it publishes, so a trace
 * shows when what a handling published became visible to read_committed consumers (the commit's end, give or take
 * the markers). Links are read from the outputs' trace headers only when the span records.
 */
export function startCommitSpan(
  worker: string,
  consumed: { readonly topic: string; readonly partition: number },
  outputs: readonly { readonly headers: Readonly<Record<string, HeaderValue>> }[],
  stateRecords: number,
): { end(error?: unknown): void } {
  const span = runtimeTracer().startSpan('commit', { kind: SpanKind.INTERNAL });
  if (span.isRecording()) {
    span.setAttributes({
      [RuntimeSpanAttributes.system]: 'kafka',
      [RuntimeSpanAttributes.destination]: consumed.topic,
      [RuntimeSpanAttributes.partition]: String(consumed.partition),
      [RuntimeSpanAttributes.worker]: worker,
      [RuntimeSpanAttributes.commitMessages]: outputs.length,
      [RuntimeSpanAttributes.commitStateRecords]: stateRecords,
    });
    const links = new Map<string, Link>();
    for (const o of outputs) {
      const linked = trace.getSpanContext(extractTraceContext(o.headers));
      if (linked !== undefined) links.set(linked.spanId, { context: linked });
    }
    span.addLinks([...links.values()]);
  }
  return {
    end: (error?: unknown) => {
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      span.end();
    },
  };
}

/** The tracer of the runtime (no-op until a service registers an SDK). */
export function runtimeTracer(): Tracer {
  return trace.getTracer('@warden/runtime');
}

/** The trace id of a span, or undefined when it is not recording a real trace. */
export function traceIdOf(span: Span): string | undefined {
  const id = span.spanContext().traceId;
  return /^0+$/.test(id) ? undefined : id;
}
