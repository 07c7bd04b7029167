import { INVALID_SPAN_CONTEXT, trace, type Span } from '@opentelemetry/api';
import {
  EventCodec,
  MemoryBlobStore,
  canonicalHash,
  eventSchemas,
  newTask,
  typeConstOf,
  type EncodedEvent,
  type EventDraft,
  type EventOf,
  type SchemaRegistryApi,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { pino, type Level } from 'pino';
import { Topics } from '../topics.js';
import { chainedPublish, handlingLogFields } from '../worker/handling.js';
import { StateLayer } from '../worker/state-store.js';
import type { HandlerContext } from '../worker/types.js';

/**
 * A schema registry in memory: each subject gets an id on its first registration, bound to its schema's event type. For codecs in unit tests, which
 * then validate, redact and hash exactly as a worker's codec does.
 */
export function createMemorySchemaRegistry(): SchemaRegistryApi {
  const ids = new Map<string, number>();
  const types = new Map<number, string | null>();
  return {
    register: (subject, schema) => {
      if (!ids.has(subject)) {
        ids.set(subject, ids.size + 1);
        types.set(ids.size, typeConstOf(schema));
      }
      return Promise.resolve(ids.get(subject)!);
    },
    eventTypeOf: (id) => Promise.resolve(types.get(id)),
  };
}

/** An EventCodec that needs no server: an in-memory registry and blob store. */
export function createTestCodec(): EventCodec {
  return new EventCodec({ registry: createMemorySchemaRegistry(), blobs: new MemoryBlobStore() });
}

/** Options of createTestHandlerContext. */
/** S: the worker's state (never by default, which fits a handler of any state). */
export interface TestHandlerContextOptions<E extends WardenEvent, S = never> {
  /** The event being handled, what responses chain to (default: a sample TaskSubmitted of task-1, tenant-a). */
  readonly event?: E;
  /** Its hash (default: the canonical hash of the event). */
  readonly hash?: string;
  /** ctx.attempt (default 1). */
  readonly attempt?: number;
  /** The producer field of published events (default "test@0.1.0"). */
  readonly producer?: string;
  /** The codec publish encodes with (default createTestCodec()). */
  readonly codec?: EventCodec;
  /** Where the event came from (default its topic under the prefix "warden", partition 0, offset 0). */
  readonly source?: HandlerContext['source'];
  /** The level from which log lines are kept in `logs` (default "trace": all; "silent": none). */
  readonly logLevel?: Level | 'silent';
  /** ctx.span (default a span that records nothing). */
  readonly span?: Span;
  /** The state ctx.state reads and writes (keyed by the event's taskId); share one between contexts of a test. */
  readonly state?: StateLayer<S>;
}

/** A handler context for a unit test, and what the handler did with it. */
export interface TestHandlerContext<E extends WardenEvent, S = never> {
  /** Pass it to the handler: handler(event, ctx). */
  readonly ctx: HandlerContext<S>;
  /** The event being handled. */
  readonly event: E;
  /** Drafts published through ctx.publish, in order (as the handler wrote them, before encoding). */
  readonly drafts: EventDraft[];
  /** The same events as encoded (validated, redacted, chained: each names the one before in prevHashes). */
  readonly published: EncodedEvent[];
  /** Lines logged through ctx.logger, parsed (with eventId, type, taskId, tenantId). */
  readonly logs: Array<Record<string, unknown>>;
  /** Fires ctx.signal, as a worker's forced close does. */
  abort(reason?: unknown): void;
  /** The state behind ctx.state (its `changes` are what the chunk would write to the changelog). */
  readonly state: StateLayer<S>;
}

/** The TaskSubmitted a test handler context handles when given none. */
function sampleTaskSubmitted(): EventOf<'TaskSubmitted'> {
  const draft = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
  return eventSchemas.TaskSubmitted.parse(draft) as EventOf<'TaskSubmitted'>;
}

/**
 * A handler context for unit-testing a handler without Kafka: a real pino logger whose lines are kept, an
 * AbortSignal, a span, and a publish that chains, encodes and records each response as a worker's would (nothing is
 * sent). Handlers built by createHandlers(deps) get their fakes through deps; this gives them the rest.
 */
export function createTestHandlerContext<E extends WardenEvent = EventOf<'TaskSubmitted'>, S = never>(
  options: TestHandlerContextOptions<E, S> = {},
): TestHandlerContext<E, S> {
  const event = options.event ?? (sampleTaskSubmitted() as WardenEvent as E);
  const hash = options.hash ?? canonicalHash(event);
  const logs: Array<Record<string, unknown>> = [];
  const root = pino(
    { level: options.logLevel ?? 'trace' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const span = options.span ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const logger = root.child(handlingLogFields(event, undefined));
  const abort = new AbortController();
  const drafts: EventDraft[] = [];
  const published: EncodedEvent[] = [];
  const state = options.state ?? new StateLayer<S>(() => undefined);
  const ctx: HandlerContext<S> = {
    state: state.handle(event.taskId),
    logger,
    signal: abort.signal,
    span,
    attempt: options.attempt ?? 1,
    hash,
    source: options.source ?? { topic: new Topics().forType(event.type), partition: 0, offset: '0' },
    publish: chainedPublish(
      { envelope: event, hash },
      options.codec ?? createTestCodec(),
      options.producer ?? 'test@0.1.0',
      (encoded, draft) => {
        published.push(encoded);
        drafts.push(draft);
      },
    ),
  };
  return { ctx, event, drafts, published, logs, state, abort: (reason) => abort.abort(reason) };
}
