/**
 * Where a hop's time goes, for the agent-step bench. The workers' spans (recorded in memory by a tracer provider this
 * process registers; the pipeline's workers run in this process) split each hop, from its cause's occurredAt to its
 * effect's:
 * - rest: from the cause's publish to the end of the handling that published it;
 * - commit: that handling's chunk transaction, the runtime's `commit` span (it links to the handlings whose events it
 *   publishes): from its start to the broker's answer to EndTxn;
 * - fetch: from there to the start of the next worker's handling: the read_committed fetch (after the commit
 *   markers), the wait for the partition's lock and the decoding;
 * - handling: the next worker's handling up to the effect's publish, split into the world's time (the tools'
 *   `execute_tool` spans, the model's `chat` spans: what an instant tool and model would not take) and Warden's own.
 * The floor hop is a raw transaction (what the commit measures) and a raw fetch, with a handling of almost nothing.
 */
import { trace } from '@opentelemetry/api';
import { RuntimeSpanAttributes as A } from '@warden/runtime';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** One span's start and end (epoch ms). */
interface Interval {
  readonly startMs: number;
  readonly endMs: number;
}

/** One chunk's transaction: when, and how many events and state records it carried. */
export interface Commit extends Interval {
  readonly messages: number;
  readonly stateRecords: number;
}

/** One handling of an event by a worker, its chunk's transaction, and the world's time inside it (ms). */
export interface Handling extends Interval {
  readonly worker: string;
  /** The transaction that published what the handling published (absent: not recorded, or it published nothing). */
  readonly commit?: Commit;
  /** The time of the tools' and the model's spans inside the handling. */
  readonly worldMs: number;
}

/** The handlings recorded so far, by the handled event's id. */
export type Handlings = (eventId: string, worker: string) => Handling | undefined;

/** Spans of the world (a tool's call, a model's call) as the executor and the planner name them. */
const WORLD_SPAN = /^(execute_tool|chat) /;

const ms = (t: readonly [number, number]): number => t[0] * 1_000 + t[1] / 1e6;

/** Registers a tracer provider that keeps the workers' spans; returns a lookup over their handlings. */
export function recordHandlings(): { lookup: () => Handlings; stop: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  return {
    lookup: () => {
      const spans = exporter.getFinishedSpans();
      const commits = new Map<string, Commit>();
      const world = new Map<string, number>();
      for (const span of spans) {
        if (span.name === 'commit') {
          const commit = {
            startMs: ms(span.startTime),
            endMs: ms(span.endTime),
            messages: Number(span.attributes[A.commitMessages] ?? 0),
            stateRecords: Number(span.attributes[A.commitStateRecords] ?? 0),
          };
          for (const link of span.links) commits.set(link.context.spanId, commit);
        } else if (WORLD_SPAN.test(span.name) && span.parentSpanContext !== undefined) {
          const parent = span.parentSpanContext.spanId;
          world.set(parent, (world.get(parent) ?? 0) + ms(span.duration));
        }
      }
      const byEvent = new Map<string, Handling[]>();
      for (const span of spans) {
        if (!span.name.startsWith('process ')) continue;
        const eventId = span.attributes[A.eventId];
        const worker = span.attributes[A.worker];
        if (typeof eventId !== 'string' || typeof worker !== 'string') continue;
        const id = span.spanContext().spanId;
        const commit = commits.get(id);
        const handling: Handling = {
          worker,
          startMs: ms(span.startTime),
          endMs: ms(span.endTime),
          worldMs: world.get(id) ?? 0,
          ...(commit === undefined ? {} : { commit }),
        };
        byEvent.set(eventId, [...(byEvent.get(eventId) ?? []), handling]);
      }
      // The first handling of the event by that worker (a redelivery would be a later one).
      return (eventId, worker) =>
        byEvent
          .get(eventId)
          ?.filter((h) => h.worker === worker)
          .sort((a, b) => a.startMs - b.startMs)[0];
    },
    stop: () => provider.shutdown(),
  };
}
