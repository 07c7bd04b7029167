/**
 * Where a hop's time goes, for the agent-step bench: the workers' own handling spans (`process <type>`, the runtime's
 * consumer span, recorded in memory by a tracer provider this process registers; the pipeline's workers run in this
 * process) split each hop, from its cause's occurredAt to its effect's, in two:
 * - before: from the cause's publish (inside the previous handling) to the start of its handling by the next worker:
 *   the rest of the previous handling, that chunk's transaction commit, the consumer's fetch (read_committed: after
 *   the commit marker), the wait for the partition's lock, and the decoding;
 * - handling: from the start of that handling to the effect's publish (the worker's own work: checks, state, the
 *   effect ledger and the tool for the executor, the model call for the planner, signing and encoding).
 * "Before" is split again where the handling that published the cause is known (the previous hop's): the rest of that
 * handling after the publish, and what is left: the transaction's commit, the fetch, the lock and the decoding. The
 * floor hop is that last part alone (a transactional produce, its commit and a read_committed fetch) with a handling
 * of almost nothing.
 */
import { trace } from '@opentelemetry/api';
import { RuntimeSpanAttributes as A } from '@warden/runtime';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** One handling of an event by a worker: when it started and ended (epoch ms). */
interface Handling {
  readonly worker: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** The handlings recorded so far, by the handled event's id. */
export type Handlings = (eventId: string, worker: string) => Handling | undefined;

/** Registers a tracer provider that keeps the workers' handling spans; returns a lookup over them. */
export function recordHandlings(): { lookup: () => Handlings; stop: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  return {
    lookup: () => {
      const byEvent = new Map<string, Handling[]>();
      for (const span of exporter.getFinishedSpans()) {
        if (!span.name.startsWith('process ')) continue;
        const eventId = span.attributes[A.eventId];
        const worker = span.attributes[A.worker];
        if (typeof eventId !== 'string' || typeof worker !== 'string') continue;
        const ms = (t: readonly [number, number]): number => t[0] * 1_000 + t[1] / 1e6;
        const handling = { worker, startMs: ms(span.startTime), endMs: ms(span.endTime) };
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
