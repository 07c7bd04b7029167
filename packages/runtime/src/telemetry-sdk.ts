import { createHash } from 'node:crypto';
import {
  ROOT_CONTEXT,
  TraceFlags,
  context,
  propagation,
  trace,
  type Attributes,
  type ContextManager,
  type Context,
  type Link,
  type SpanKind,
} from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { CommonAttributes } from './semconv.js';
import type { Service } from './signals.js';

/** The most distinct tenants a worker labels its metrics with (WARDEN_METRICS_MAX_TENANTS's default). */
export const DEFAULT_METRICS_MAX_TENANTS = 50;

/** The samplers of OTEL_TRACES_SAMPLER that Warden supports (the specification's built-in ones). */
export const TraceSamplers = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
/** One of TraceSamplers. */
export type TraceSampler = (typeof TraceSamplers)[number];

/**
 * The standard OpenTelemetry variables a worker reads (https://opentelemetry.io/docs/specs/otel/configuration/
 * sdk-environment-variables/), plus the tenant-label cap of its metrics. Tracing is off unless an OTLP endpoint is
 * set. Parsed by each service's config.ts, the only reader of process.env.
 */
export const TelemetryEnv = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  /** `otlp` (default) or `none`. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  /** Base URL of an OTLP/HTTP receiver; traces go to `<endpoint>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The full URL of the traces receiver (wins over OTEL_EXPORTER_OTLP_ENDPOINT). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** `key=value,key2=value2` sent with every export (e.g. an API key of a hosted backend: never logged). */
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.enum(TraceSamplers).default('parentbased_always_on'),
  /** The ratio of the traceidratio samplers, 0..1 (default 1). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** Tenants beyond this many distinct ones are labelled `other` in metrics (bounded cardinality). */
  WARDEN_METRICS_MAX_TENANTS: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_METRICS_MAX_TENANTS),
});
export type TelemetryEnv = z.infer<typeof TelemetryEnv>;

/** A worker's tracing and metric-label settings. */
export interface TelemetryConfig {
  /** Where spans go (OTLP/HTTP); undefined: tracing is off (the API's no-op tracer, nothing started). */
  readonly tracesUrl?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sampler: TraceSampler;
  /** The traceidratio samplers' ratio. */
  readonly samplerRatio: number;
  /** service.name; the worker's name when unset. */
  readonly serviceName?: string;
  /** Distinct tenant labels a metric keeps before it counts the rest as `other`. */
  readonly maxTenantLabels: number;
}

/** `k=v,k2=v2` (values URL-encoded, as the specification says) as a record. */
function parseHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

/** The telemetry settings of a parsed environment. */
export function telemetryConfigFrom(env: TelemetryEnv): TelemetryConfig {
  const off = env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none';
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  return {
    ...(off || tracesUrl === undefined ? {} : { tracesUrl }),
    headers: {
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    ...(env.OTEL_SERVICE_NAME === undefined ? {} : { serviceName: env.OTEL_SERVICE_NAME }),
    maxTenantLabels: env.WARDEN_METRICS_MAX_TENANTS,
  };
}

/** Telemetry settings with tracing off (tests, tools). */
export const TELEMETRY_OFF: TelemetryConfig = {
  headers: {},
  sampler: 'parentbased_always_on',
  samplerRatio: 1,
  maxTenantLabels: DEFAULT_METRICS_MAX_TENANTS,
};

/** The tracestate entry that marks a task's virtual root (see taskRootContext). */
export const TASK_ROOT_TRACE_STATE = { key: 'warden', value: 'task' } as const;

/** TraceState is immutable: one instance marks every task root. */
const TASK_ROOT_STATE = new TraceState(`${TASK_ROOT_TRACE_STATE.key}=${TASK_ROOT_TRACE_STATE.value}`);

let taskRoots = false;

/** Whether handlings of a task's first event join the task's own trace (on while an SDK runs). */
export function taskRootsEnabled(): boolean {
  return taskRoots;
}

/**
 * The context of a task's virtual root: a remote parent whose trace id and span id are derived from the task id.
 * Every worker that handles an event of the task without trace headers (a TaskSubmitted from a producer that does
 * not trace) so lands in the same trace, one per task. Marked in tracestate so the sampler decides it as a root.
 */
export function taskRootContext(parent: Context, taskId: string): Context {
  const digest = createHash('sha256').update(`warden-task:${taskId}`).digest('hex');
  return trace.setSpanContext(parent, {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: TASK_ROOT_STATE,
  });
}

/**
 * A sampler that decides a task's virtual root as a root (the configured ratio, deterministic on the trace id, so
 * every worker decides a task alike) and anything else as the configured sampler does.
 */
export class TaskRootSampler implements Sampler {
  constructor(
    private readonly inner: Sampler,
    private readonly root: Sampler,
  ) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(context);
    const isTaskRoot = parent?.traceState?.get(TASK_ROOT_TRACE_STATE.key) === TASK_ROOT_TRACE_STATE.value;
    return (isTaskRoot ? this.root : this.inner).shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `TaskRootSampler{${this.inner.toString()}}`;
  }
}

/** The sampler of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, aware of task roots. */
export function samplerOf(kind: TraceSampler, ratio: number): Sampler {
  const bare = kind.replace(/^parentbased_/, '');
  const root =
    bare === 'always_on'
      ? new AlwaysOnSampler()
      : bare === 'always_off'
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(ratio);
  const inner = kind.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
  return new TaskRootSampler(inner, root);
}

/**
 * A context manager that keeps no implicit context: `context.active()` is always the root and `context.with` only
 * calls its function. Warden passes parents explicitly, and AsyncLocalStorage (the SDK's default) would tax every
 * await of the process.
 */
export class ExplicitContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    _context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

/** A started (or skipped) SDK. */
export interface Telemetry {
  /** True when spans are exported. */
  readonly enabled: boolean;
  /** Flushes what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

/** What to identify the process by, and (tests, benches) another exporter than OTLP/HTTP. */
export interface StartTelemetryOptions {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  readonly exporter?: SpanExporter;
}

/**
 * Starts the OpenTelemetry Node SDK with Warden's settings: OTLP/HTTP span exporter (batched), the configured
 * sampler, W3C trace context, no global context manager (parents are passed explicitly), no auto-instrumentation, no OTel metric or log
 * exporter (metrics are served per worker on /metrics; logs are pino's). Call it first in main.ts. Without an
 * endpoint nothing is started and the API stays a no-op (a span costs a few allocations).
 */
export function startTelemetry(config: TelemetryConfig, options: StartTelemetryOptions): Telemetry {
  if (config.tracesUrl === undefined && options.exporter === undefined) {
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  const exporter =
    options.exporter ?? new OTLPTraceExporter({ url: config.tracesUrl!, headers: { ...config.headers } });
  const serviceName = config.serviceName ?? options.serviceName;
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: resourceFromAttributes({
      [CommonAttributes.serviceName]: serviceName,
      ...(options.serviceVersion === undefined ? {} : { [CommonAttributes.serviceVersion]: options.serviceVersion }),
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
    sampler: samplerOf(config.sampler, config.samplerRatio),
    textMapPropagator: new W3CTraceContextPropagator(),
    // No global context manager: Warden passes each span's parent explicitly (the handling's span is in the handler's
    // context), and AsyncLocalStorage would tax every await of the process (about 2x per await on Node 20).
    contextManager: new ExplicitContextManager(),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  taskRoots = true;
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () =>
      (stopping ??= sdk.shutdown().finally(() => {
        taskRoots = false;
        trace.disable();
        propagation.disable();
        context.disable();
      })),
  };
}

/**
 * The service, whose close() then flushes and stops the telemetry (spans of the last handlings are sent before the
 * process exits). For runUntilSignal in main.ts.
 */
export function closingTelemetry(service: Service, telemetry: Telemetry): Service {
  return {
    start: () => service.start(),
    close: async () => {
      try {
        return await service.close();
      } finally {
        await telemetry.shutdown().catch(() => undefined);
      }
    },
    onCrash: (listener) => service.onCrash(listener),
  };
}
