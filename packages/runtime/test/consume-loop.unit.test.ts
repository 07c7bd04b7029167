import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { KafkaJSConnectionError, type KafkaMessage, type Producer } from 'kafkajs';
import { MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { PublishError } from '../src/errors.js';
import { injectTraceHeaders, runtimeTracer } from '../src/telemetry.js';
import { DedupeWindow } from '../src/worker/chunking.js';
import { createConsumeLoop, type BatchPayload } from '../src/worker/consume-loop.js';
import type { ConsumedItem } from '../src/worker/handling.js';
import { PartitionState } from '../src/worker/state-store.js';

const counter = { add: () => undefined };

/** Resolves once `done()` holds (checked on every turn of the event loop's timers). */
async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

/** Messages at the given offsets whose value is the event key. */
const messagesOf = (keys: string[], from = 0): KafkaMessage[] =>
  keys.map((k, i) => ({ key: null, value: Buffer.from(k), offset: String(from + i), headers: {} }) as KafkaMessage);

/** A consume loop over fakes: each handled event takes `handleMs` on a fake clock and outputs one message. */
function harness(
  options: {
    batchSize?: number;
    commitIntervalMs?: number;
    handleMs?: number;
    committedOffset?: bigint;
    /** Errors thrown by successive handlings of a key (then it succeeds). */
    handleFaults?: Record<string, Error[]>;
    /** Errors thrown by successive commits (then they succeed); a failed commit drops the producer. */
    commitFaults?: Array<Error | undefined>;
    /** Errors thrown by successive heartbeats. */
    heartbeatFaults?: Error[];
    /** The worker starts draining when an outage is reported. */
    drainOnOutage?: boolean;
    /** A stateful worker whose partition's restore completes only after this many heartbeats. */
    restoreAfterHeartbeats?: number;
    heartbeatCheckIntervalMs?: number;
  } = {},
) {
  let clock = 0;
  let dropped = false;
  let lastCommitted: bigint | undefined = options.committedOffset;
  const outages: string[] = [];
  const heartbeats = { count: 0 };
  let running = true;
  const handled: string[] = [];
  const conflicts: string[] = [];
  const commits: Array<{ nextOffset: string; outputs: string[] }> = [];
  const resolved: string[] = [];
  /** The durations the loop recorded, one per committed transaction. */
  const commitSeconds: number[] = [];
  let failCommit: number | undefined;
  let firstAcquire = true;
  const recent = new DedupeWindow(100);
  const loop = createConsumeLoop({
    worker: 'echo',
    limits: { batchSize: options.batchSize ?? 100, commitIntervalMs: options.commitIntervalMs ?? 1_000 },
    heartbeatCheckIntervalMs: options.heartbeatCheckIntervalMs ?? 250,
    ...(options.restoreAfterHeartbeats === undefined
      ? {}
      : {
          state: {
            load: (partition: number) =>
              waitFor(() => heartbeats.count >= options.restoreAfterHeartbeats!).then(
                () => new PartitionState<unknown>({ topic: 'state', partition }),
              ),
          },
        }),
    transactions: {
      acquire: () => {
        // Like PartitionTransactions: a new producer (the first, or one after a failed commit) reads the offset.
        const fresh = firstAcquire || dropped;
        firstAcquire = false;
        dropped = false;
        return Promise.resolve({
          producer: {} as Producer,
          ...(!fresh || lastCommitted === undefined ? {} : { committedOffset: lastCommitted }),
        });
      },
      commit: (_producer, consumed, outputs) => {
        if (commits.length === failCommit) return Promise.reject(new Error('fenced'));
        const fault = options.commitFaults?.shift();
        if (fault !== undefined) {
          dropped = true;
          return Promise.reject(fault);
        }
        commits.push({ nextOffset: consumed.nextOffset!, outputs: outputs.map((o) => o.key) });
        lastCommitted = BigInt(consumed.nextOffset!);
        return Promise.resolve();
      },
    },
    handling: {
      // "key" or "key#hash": the event id, and the hash of its content (the key itself when none is given)
      decode: (_source, message) => {
        const [key, hash] = String(message.value).split('#');
        return Promise.resolve({
          message,
          key: key!,
          ...(hash === undefined ? {} : { decoded: { hash } }),
        } as ConsumedItem);
      },
      conflict: (_source, item, seenHash) => {
        conflicts.push(`${item.key}:${seenHash}->${item.decoded?.hash ?? ''}`);
        return Promise.resolve([{ topic: 'dlq', key: `dlq:${item.key}`, value: Buffer.alloc(0), headers: {} }]);
      },
      handle: (_source, item) => {
        const fault = options.handleFaults?.[item.key]?.shift();
        if (fault !== undefined) return Promise.reject(fault);
        handled.push(item.key);
        clock += options.handleMs ?? 1;
        if (item.key === 'stop') running = false;
        // Like a handling: its outputs carry the trace context of its span (when a tracer provider records).
        const span = runtimeTracer().startSpan(`process ${item.key}`);
        const headers: Record<string, string> = {};
        injectTraceHeaders(trace.setSpan(context.active(), span), headers);
        span.end();
        return Promise.resolve([{ topic: 'out', key: item.key, value: Buffer.alloc(0), headers }]);
      },
    },
    metrics: {
      setLag: () => undefined,
      duplicates: counter,
      messagesIn: counter,
      messagesOut: counter,
      commitDuration: { record: (seconds: number) => void commitSeconds.push(seconds) },
    },
    recent,
    running: () => running,
    now: () => clock,
    outages: {
      failed: (dependency) => {
        outages.push(`down:${dependency}`);
        if (options.drainOnOutage === true) running = false;
      },
      served: (dependency) => void outages.push(`up:${dependency}`),
      isUp: () => false,
    },
    outageRetry: { retryBaseMs: 1, retryMaxMs: 2 },
  });
  const run = (messages: KafkaMessage[], lastOffset = messages.at(-1)!.offset) => {
    const payload = {
      batch: {
        topic: 'in',
        partition: 0,
        messages,
        lastOffset: () => lastOffset,
        offsetLag: () => '0',
      },
      resolveOffset: (offset: string) => void resolved.push(offset),
      heartbeat: () => {
        heartbeats.count++;
        const fault = options.heartbeatFaults?.shift();
        return fault === undefined ? Promise.resolve() : Promise.reject(fault);
      },
      isRunning: () => true,
      isStale: () => false,
    } as unknown as BatchPayload;
    return loop(payload);
  };
  return {
    run,
    handled,
    conflicts,
    commits,
    resolved,
    recent,
    outages,
    heartbeats,
    commitSeconds,
    failAt: (n: number) => (failCommit = n),
  };
}

describe('the consume loop', () => {
  it('commits a fetch in chunks of batchSize, in order, the last one past the control records', async () => {
    const h = harness({ batchSize: 3 });
    await h.run(messagesOf(['a', 'b', 'c', 'd', 'e', 'f', 'g']), '9');
    expect(h.commits).toEqual([
      { nextOffset: '3', outputs: ['a', 'b', 'c'] },
      { nextOffset: '6', outputs: ['d', 'e', 'f'] },
      { nextOffset: '10', outputs: ['g'] },
    ]);
    expect(h.resolved).toEqual(['2', '5', '9']);
  });

  it('closes a chunk once it is commitIntervalMs old', async () => {
    const h = harness({ commitIntervalMs: 100, handleMs: 40 });
    await h.run(messagesOf(['a', 'b', 'c', 'd', 'e']));
    expect(h.commits.map((c) => c.outputs)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('handles an event published twice once, within a fetch and across fetches', async () => {
    const h = harness();
    await h.run(messagesOf(['a', 'b', 'a']));
    await h.run(messagesOf(['b', 'c'], 3));
    expect(h.handled).toEqual(['a', 'b', 'c']);
    expect(h.commits.map((c) => c.nextOffset)).toEqual(['3', '5']);
  });

  it('skips the same event again (same id, same hash), in a chunk and across transactions', async () => {
    const h = harness({ batchSize: 2 });
    await h.run(messagesOf(['a#1', 'a#1', 'b#2']));
    await h.run(messagesOf(['b#2', 'c#3'], 3));
    expect(h.handled).toEqual(['a', 'b', 'c']);
    expect(h.conflicts).toEqual([]);
  });

  it('dead-letters an id reused with other content instead of skipping it as a duplicate', async () => {
    const h = harness({ batchSize: 10 });
    await h.run(messagesOf(['a#1', 'a#2']));
    await h.run(messagesOf(['a#3'], 2));
    expect(h.handled).toEqual(['a']);
    expect(h.conflicts).toEqual(['a:1->2', 'a:1->3']);
    expect(h.commits.flatMap((c) => c.outputs)).toEqual(['a', 'dlq:a', 'dlq:a']);
  });

  it('skips what an earlier owner committed, and resolves a fetch it had wholly committed', async () => {
    const h = harness({ committedOffset: 2n });
    await h.run(messagesOf(['a', 'b', 'c', 'd']));
    expect(h.handled).toEqual(['c', 'd']);
    const done = harness({ committedOffset: 10n });
    await done.run(messagesOf(['a', 'b']));
    expect([done.handled, done.commits, done.resolved]).toEqual([[], [], ['1']]);
  });

  it('heartbeats while the partition state restores, so a long restore keeps the member in its group', async () => {
    // The restore ends only after three heartbeats: without them the fetch would wait for ever (the session lost).
    const h = harness({ restoreAfterHeartbeats: 3, heartbeatCheckIntervalMs: 1 });
    await h.run(messagesOf(['a', 'b']));
    expect(h.heartbeats.count).toBeGreaterThanOrEqual(3);
    expect(h.handled).toEqual(['a', 'b']);
    expect(h.commits).toEqual([{ nextOffset: '2', outputs: ['a', 'b'] }]);
  });

  it('commits what it handled when the worker stops, and starts nothing more', async () => {
    const h = harness({ batchSize: 2 });
    await h.run(messagesOf(['a', 'stop', 'b', 'c']));
    expect(h.handled).toEqual(['a', 'stop']);
    expect(h.commits).toEqual([{ nextOffset: '2', outputs: ['a', 'stop'] }]);
  });

  it('fails the batch when a transaction fails: nothing after it commits, and its keys are not remembered', async () => {
    const h = harness({ batchSize: 2 });
    h.failAt(1);
    await expect(h.run(messagesOf(['a', 'b', 'c', 'd', 'e']))).rejects.toThrow('fenced');
    expect(h.commits.map((c) => c.nextOffset)).toEqual(['2']);
    expect(h.resolved).toEqual(['1']);
    expect(['a', 'b', 'c', 'd'].map((k) => h.recent.has(k))).toEqual([true, true, false, false]);
  });

  it('records a span per transaction that links to the handlings whose events it publishes, failed ones marked', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    try {
      const h = harness({ batchSize: 2 });
      h.failAt(1);
      await expect(h.run(messagesOf(['a', 'b', 'c', 'd']))).rejects.toThrow('fenced');
      const spans = exporter.getFinishedSpans();
      const handlings = new Map(
        spans.filter((s) => s.name.startsWith('process ')).map((s) => [s.spanContext().spanId, s.name]),
      );
      const commits = spans.filter((s) => s.name === 'commit');
      expect(commits.map((c) => c.links.map((l) => handlings.get(l.context.spanId)))).toEqual([
        ['process a', 'process b'],
        ['process c', 'process d'],
      ]);
      expect(commits.map((c) => c.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
      // warden_commit_duration_seconds: the committed transaction only
      expect(h.commitSeconds).toHaveLength(1);
      expect(h.commitSeconds[0]).toBeGreaterThanOrEqual(0);
      expect(commits[0]!.attributes).toMatchObject({
        'messaging.destination.name': 'in',
        'messaging.destination.partition.id': '0',
        'warden.worker': 'echo',
        'warden.commit.messages': 2,
        'warden.commit.state_records': 0,
      });
    } finally {
      trace.disable();
    }
  });

  describe('when a dependency is down', () => {
    const mongoDown = () => new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
    const brokerDown = () =>
      new PublishError('transaction failed', { cause: new KafkaJSConnectionError('Connection error: ECONNREFUSED') });

    it('never dead-letters: waits, heartbeating, and handles the chunk again from its first uncommitted event', async () => {
      const h = harness({ batchSize: 2, handleFaults: { c: [mongoDown(), mongoDown()] } });
      await h.run(messagesOf(['a', 'b', 'c', 'd', 'e']));
      // a and b committed before the outage; c failed twice; nothing is handled twice once committed
      expect(h.commits.map((c) => c.outputs)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      expect(h.handled).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(h.outages).toEqual(['down:mongo', 'down:mongo', 'up:mongo']);
      expect(h.heartbeats.count).toBeGreaterThanOrEqual(2); // the member kept its session while it waited
    });

    it('re-reads the committed offset after a transaction lost to a broker outage, and commits each event once', async () => {
      const h = harness({ batchSize: 2, commitFaults: [undefined, brokerDown()] });
      await h.run(messagesOf(['a', 'b', 'c', 'd', 'e']));
      expect(h.commits.map((c) => c.outputs)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      expect(h.commits.map((c) => c.nextOffset)).toEqual(['2', '4', '5']);
      expect(h.outages).toEqual(['down:kafka', 'up:kafka']);
    });

    it('keeps waiting through heartbeats the broker does not answer', async () => {
      const h = harness({
        handleFaults: { a: [mongoDown()] },
        heartbeatFaults: [new KafkaJSConnectionError('Connection error')],
      });
      await h.run(messagesOf(['a', 'b']));
      expect(h.commits.map((c) => c.outputs)).toEqual([['a', 'b']]);
    });

    it('stops waiting when the group rebalances, leaving the chunk uncommitted for kafkajs to re-deliver', async () => {
      const rebalance = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
      const h = harness({ handleFaults: { a: [mongoDown()] }, heartbeatFaults: [rebalance] });
      await expect(h.run(messagesOf(['a', 'b']))).rejects.toThrow('rebalancing');
      expect(h.commits).toEqual([]);
    });

    it('releases the chunk uncommitted when the worker stops while it waits', async () => {
      const h = harness({ handleFaults: { a: [mongoDown()] }, drainOnOutage: true });
      await expect(h.run(messagesOf(['a']))).rejects.toThrow('ECONNREFUSED');
      expect(h.commits).toEqual([]);
    });

    it('still fails the batch on an error that is not an outage', async () => {
      const h = harness({ handleFaults: { a: [new Error('a bug')] } });
      await expect(h.run(messagesOf(['a']))).rejects.toThrow('a bug');
      expect(h.outages).toEqual([]);
    });
  });
});
