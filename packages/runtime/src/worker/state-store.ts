/**
 * Keyed state for handlers (ADR 0027), the way Kafka Streams keeps its state stores: one value per task, held in
 * memory per assigned partition number, written to a compacted changelog topic (`<prefix>.<worker>-state.v1`, one
 * partition per input partition number) in the same transaction as the handler's outputs and the consumed offsets,
 * and restored from the changelog when the partition number is assigned to this member.
 *
 * Every input topic of a stateful worker is keyed by taskId with the same partition count, and the co-partitioned
 * assignor gives partition p of every input topic to one member: so the events of one task, whatever their topic,
 * are handled by the member that holds the task's state. Chunks of partition p (of any topic) and wake-ups run one
 * at a time under the partition's lock, from the first handling to the commit, so a changelog record always carries
 * the value after the chunk that committed it.
 *
 * Writes are layered: an attempt's writes are kept only if the handler returns (a retried or dead-lettered attempt
 * leaves nothing), a chunk's only once its transaction commits (an aborted transaction leaves memory as the
 * changelog has it).
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { offsetsOf } from '../log-reader.js';
import type { OutgoingMessage } from '../publisher.js';

/** A task's state as a handler sees it (`ctx.state`). */
export interface TaskState<S> {
  /** The task's value, or undefined when it has none (never set, or deleted). */
  get(): S | undefined;
  /** Replaces the task's value (written to the changelog when the chunk commits). */
  set(value: S): void;
  /** Deletes the task's value: a tombstone in the changelog (compaction then drops the key). Call it at the task's end. */
  delete(): void;
  /**
   * Asks to be woken at `atMs` (epoch ms): the worker's `state.onWake` then runs for this task in a transaction of
   * its own (for a deadline). undefined cancels. Kept with the value (and restored with it).
   */
  wakeAt(atMs: number | undefined): void;
  /** The wake-up asked for, if any. */
  wakesAt(): number | undefined;
}

/** One key's entry: its value and the wake-up it asked for. */
interface Entry<S> {
  readonly value: S;
  readonly wakeAtMs?: number;
}

/** A key's pending change: a new entry, or null for a delete. */
type Change<S> = Entry<S> | null;

/** The JSON of a changelog record: `{ v: value, w?: wakeAtMs }`. */
interface Stored {
  readonly v: unknown;
  readonly w?: number;
}

/** Validates a changelog record's shape (the value itself is checked with the worker's schema). */
function storedOf(text: string): Stored | undefined {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('v' in parsed)) return undefined;
  const w = (parsed as { w?: unknown }).w;
  if (w !== undefined && typeof w !== 'number') return undefined;
  return parsed;
}

/** The writes of one chunk (or of one attempt inside it), over what is below them. */
export class StateLayer<S> {
  readonly changes = new Map<string, Change<S>>();

  constructor(private readonly below: (key: string) => Entry<S> | undefined) {}

  entry(key: string): Entry<S> | undefined {
    const change = this.changes.get(key);
    if (change === null) return undefined;
    return change ?? this.below(key);
  }

  /** A handler's view of one key. */
  handle(key: string): TaskState<S> {
    return {
      get: () => this.entry(key)?.value,
      set: (value) => {
        const wakeAtMs = this.entry(key)?.wakeAtMs;
        this.changes.set(key, wakeAtMs === undefined ? { value } : { value, wakeAtMs });
      },
      delete: () => void this.changes.set(key, null),
      wakeAt: (atMs) => {
        const current = this.entry(key);
        if (current === undefined) throw new Error(`no state for ${key}: set a value before asking to be woken`);
        this.changes.set(key, atMs === undefined ? { value: current.value } : { value: current.value, wakeAtMs: atMs });
      },
      wakesAt: () => this.entry(key)?.wakeAtMs,
    };
  }

  /** A layer for one attempt above this one. */
  attempt(): StateLayer<S> & { keep(): void } {
    const layer = new StateLayer<S>((key) => this.entry(key));
    return Object.assign(layer, {
      keep: () => {
        for (const [k, c] of layer.changes) this.changes.set(k, c);
      },
    });
  }
}

/** What a partition's store needs to write its changelog. */
interface ChangelogTarget {
  readonly topic: string;
  readonly partition: number;
}

/** The state of one partition number: its entries, its lock and its chunks. */
export class PartitionState<S> {
  readonly entries = new Map<string, Entry<S>>();
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly changelog: ChangelogTarget) {}

  /** Waits for the partition's lock; resolves with its release. */
  async lock(): Promise<() => void> {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => held);
    await before;
    return release;
  }

  /** A chunk's layer over the committed entries. */
  begin(): StateLayer<S> {
    return new StateLayer<S>((key) => this.entries.get(key));
  }

  /** The changelog records of a chunk's writes. */
  recordsOf(layer: StateLayer<S>): OutgoingMessage[] {
    return [...layer.changes].map(([key, change]) => ({
      topic: this.changelog.topic,
      partition: this.changelog.partition,
      key,
      value:
        change === null
          ? null
          : Buffer.from(
              JSON.stringify(
                change.wakeAtMs === undefined ? { v: change.value } : { v: change.value, w: change.wakeAtMs },
              ),
            ),
      headers: {},
    }));
  }

  /** Applies a committed chunk's writes to memory. */
  apply(layer: StateLayer<S>): void {
    for (const [key, change] of layer.changes) {
      if (change === null) this.entries.delete(key);
      else this.entries.set(key, change);
    }
  }

  /** The keys whose wake-up is due at `nowMs`. */
  due(nowMs: number): string[] {
    return [...this.entries].filter(([, e]) => e.wakeAtMs !== undefined && e.wakeAtMs <= nowMs).map(([k]) => k);
  }
}

/** What the stores of a worker need. */
export interface StateStoresOptions<S> {
  readonly kafka: Kafka;
  /** The changelog topic (`Topics.stateOf(worker)`). */
  readonly topic: string;
  /** The worker's group: restores read with throw-away groups `<group>.restore-<random>` (inside its ACL prefix). */
  readonly groupId: string;
  readonly schema: ZodType<S>;
  readonly logger: Logger;
  /** Fences every earlier holder of partition p of every consumed topic (before the restore reads the changelog). */
  readonly fence: (partition: number) => Promise<void>;
  /** Called for each changelog record that cannot be restored (skipped): the worker raises an alert. */
  readonly onCorrupt?: (record: { partition: number; offset: string; key: string; reason: string }) => void;
}

/** The state stores of one worker, by partition number. */
export class StateStores<S> {
  private readonly partitions = new Map<number, Promise<PartitionState<S>>>();
  /** The stores restored and still held (a store dropped by a rebalance is no longer here, even if restored again). */
  private readonly ready = new Map<number, PartitionState<S>>();

  constructor(private readonly options: StateStoresOptions<S>) {}

  /** The store of a partition number: fenced and restored from the changelog on first use since assignment. */
  load(partition: number): Promise<PartitionState<S>> {
    let loading = this.partitions.get(partition);
    if (loading === undefined) {
      const restoring = this.restore(partition);
      loading = restoring;
      this.partitions.set(partition, restoring);
      restoring.then(
        (store) => {
          if (this.partitions.get(partition) === restoring) this.ready.set(partition, store);
        },
        () => {
          if (this.partitions.get(partition) === restoring) this.partitions.delete(partition); // tried again
        },
      );
    }
    return loading;
  }

  /** The stores restored and held now (for wake-ups); a restore in progress is not waited for. */
  loaded(): PartitionState<S>[] {
    return [...this.ready.values()];
  }

  /** Whether this store is still the one held for its partition (not dropped by a rebalance since). */
  holds(store: PartitionState<S>): boolean {
    return this.ready.get(store.changelog.partition) === store;
  }

  /** Forgets the stores of partition numbers this member no longer owns (a new owner restores them). */
  retain(partitions: ReadonlySet<number>): void {
    for (const p of [...this.partitions.keys()]) {
      if (partitions.has(p)) continue;
      this.partitions.delete(p);
      this.ready.delete(p);
    }
  }

  private async restore(partition: number): Promise<PartitionState<S>> {
    const { kafka, topic, schema, logger } = this.options;
    await this.options.fence(partition);
    const store = new PartitionState<S>({ topic, partition });
    const admin = kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      const offsets = await offsetsOf(admin, topic);
      const p = offsets.find((o) => o.partition === partition);
      if (p === undefined) throw new Error(`changelog ${topic} has no partition ${partition}`);
      end = BigInt(p.high);
      if (end <= BigInt(p.low)) return store;
    } finally {
      await admin.disconnect();
    }
    const started = performance.now();
    let records = 0;
    const consumer = kafka.consumer({
      groupId: `${this.options.groupId}.restore-${randomBytes(6).toString('hex')}`,
      readUncommitted: false,
    });
    let finish: () => void = () => undefined;
    const done = new Promise<void>((r) => (finish = r));
    const advance = (lastOffset: string): void => {
      if (BigInt(lastOffset) + 1n >= end) finish();
    };
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.partition === partition && payload.batchSize === 0) advance(payload.lastOffset);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: (payload) => {
          const { batch } = payload;
          if (batch.partition !== partition) {
            payload.pause(); // another partition's state: not ours to restore
            return Promise.resolve();
          }
          for (const message of batch.messages) {
            const key = message.key?.toString() ?? '';
            records++;
            if (message.value === null) {
              store.entries.delete(key);
              continue;
            }
            const reason = this.restoreOne(store, key, message.value.toString('utf8'), schema);
            if (reason !== undefined) {
              store.entries.delete(key); // its latest value is unknown: the task goes on without state (fail closed)
              logger.error(
                { topic, partition, offset: message.offset, key, reason },
                'corrupt state record skipped: the task restores with no state',
              );
              this.options.onCorrupt?.({ partition, offset: message.offset, key, reason });
            }
          }
          advance(batch.lastOffset());
          return Promise.resolve();
        },
      });
      await done;
    } finally {
      await consumer.disconnect();
    }
    logger.info(
      { topic, partition, records, keys: store.entries.size, ms: Math.round(performance.now() - started) },
      'state restored from the changelog',
    );
    return store;
  }

  /** Restores one record into the store; returns why it was skipped, if it was. */
  private restoreOne(store: PartitionState<S>, key: string, text: string, schema: ZodType<S>): string | undefined {
    let stored: Stored | undefined;
    try {
      stored = storedOf(text);
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    if (stored === undefined) return 'not a state record ({ v, w? })';
    const parsed = schema.safeParse(stored.v);
    if (!parsed.success) return `invalid value: ${parsed.error.issues[0]?.message ?? 'schema mismatch'}`;
    store.entries.set(
      key,
      stored.w === undefined ? { value: parsed.data } : { value: parsed.data, wakeAtMs: stored.w },
    );
    return undefined;
  }
}
