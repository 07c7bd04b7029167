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
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Heap } from 'heap-js';
import type { ZodType } from 'zod';
import { readLatestByKey } from '../log-reader.js';
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

/** One key's entry: its value, the wake-up it asked for, and when its value was last written (epoch ms). */
interface Entry<S> {
  readonly value: S;
  readonly wakeAtMs?: number;
  readonly writtenAtMs?: number;
}

/** A key's pending change: a new entry, or null for a delete. */
type Change<S> = Entry<S> | null;

/** The JSON of a changelog record: `{ v: value, w?: wakeAtMs, t?: writtenAtMs }`. */
interface Stored {
  readonly v: unknown;
  readonly w?: number;
  readonly t?: number;
}

/** Validates a changelog record's shape (the value itself is checked with the worker's schema). */
function storedOf(text: string): Stored | undefined {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('v' in parsed)) return undefined;
  const { w, t } = parsed as { w?: unknown; t?: unknown };
  if (w !== undefined && typeof w !== 'number') return undefined;
  if (t !== undefined && typeof t !== 'number') return undefined;
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

/** What a partition's store has to do at a time: wake a task, or drop the state of one idle for too long. */
export interface DueKeys {
  /** Keys whose wake-up (TaskState.wakeAt) has come. */
  readonly wake: string[];
  /** Keys whose value nobody wrote for the idle TTL: their state is deleted (a tombstone). */
  readonly expire: string[];
}

/** A key's next time of attention in the heap; stale once the key's entry says otherwise. */
type Attention = readonly [atMs: number, key: string];

/**
 * The state of one partition number: its entries, its lock and its chunks. The times at which a key needs attention
 * (its wake-up, or the end of its idle TTL) are kept in a min-heap, so finding what is due costs O(k log n) for k due
 * keys, not a scan of every task held. The heap is lazy: an entry changed or deleted leaves its old time behind,
 * dropped when it reaches the top (and the heap is rebuilt when stale times outnumber live ones).
 */
export class PartitionState<S> {
  private readonly map = new Map<string, Entry<S>>();
  private readonly attention = new Heap<Attention>((a, b) => a[0] - b[0]);
  /** Keys with a time in the heap now (live times). */
  private live = 0;
  private tail: Promise<void> = Promise.resolve();

  /**
   * @param idleTtlMs a key whose value is not written for this long is deleted (WARDEN_STATE_IDLE_TTL_MS); 0 never.
   * @param now the clock (epoch ms)
   */
  constructor(
    readonly changelog: ChangelogTarget,
    private readonly idleTtlMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** The entries held (committed). */
  get entries(): ReadonlyMap<string, Entry<S>> {
    return this.map;
  }

  /** Sets a key's committed entry (a restored record, or a committed write). */
  put(key: string, entry: Entry<S>): void {
    const before = this.map.get(key);
    this.map.set(key, entry);
    const at = this.attentionAt(entry);
    if (before !== undefined && this.attentionAt(before) !== undefined) this.live--;
    if (at !== undefined) {
      this.live++;
      this.attention.push([at, key]);
    }
    this.compactIfStale();
  }

  /** Deletes a key's committed entry. */
  remove(key: string): void {
    const before = this.map.get(key);
    if (before === undefined) return;
    this.map.delete(key);
    if (this.attentionAt(before) !== undefined) this.live--;
    this.compactIfStale();
  }

  /** When a key needs attention: its wake-up, or the end of its idle TTL, whichever is first. */
  private attentionAt(entry: Entry<S>): number | undefined {
    const expiresAt =
      this.idleTtlMs > 0 && entry.writtenAtMs !== undefined ? entry.writtenAtMs + this.idleTtlMs : undefined;
    if (entry.wakeAtMs === undefined) return expiresAt;
    return expiresAt === undefined ? entry.wakeAtMs : Math.min(entry.wakeAtMs, expiresAt);
  }

  private isLive([at, key]: Attention): boolean {
    const entry = this.map.get(key);
    return entry !== undefined && this.attentionAt(entry) === at;
  }

  /** Rebuilds the heap from the entries when stale times outnumber live ones (bounded memory). */
  private compactIfStale(): void {
    if (this.attention.size() <= 2 * this.live + 1_024) return;
    const times: Attention[] = [];
    for (const [key, entry] of this.map) {
      const at = this.attentionAt(entry);
      if (at !== undefined) times.push([at, key]);
    }
    this.attention.clear();
    this.attention.addAll(times);
    this.live = times.length;
  }

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
    return new StateLayer<S>((key) => this.map.get(key));
  }

  /** The changelog records of a chunk's writes, stamped with when they were written. */
  recordsOf(layer: StateLayer<S>, writtenAtMs = this.now()): OutgoingMessage[] {
    return [...layer.changes].map(([key, change]) => ({
      topic: this.changelog.topic,
      partition: this.changelog.partition,
      key,
      value:
        change === null
          ? null
          : Buffer.from(
              JSON.stringify(
                change.wakeAtMs === undefined
                  ? { v: change.value, t: writtenAtMs }
                  : { v: change.value, w: change.wakeAtMs, t: writtenAtMs },
              ),
            ),
      headers: {},
    }));
  }

  /** Applies a committed chunk's writes to memory. */
  apply(layer: StateLayer<S>, writtenAtMs = this.now()): void {
    for (const [key, change] of layer.changes) {
      if (change === null) this.remove(key);
      else this.put(key, { ...change, writtenAtMs });
    }
  }

  /** Whether anything is due at `nowMs` (cheap: a look at the heap's top). */
  hasDue(nowMs: number): boolean {
    for (;;) {
      const top = this.attention.peek();
      if (top === undefined) return false;
      if (this.isLive(top)) return top[0] <= nowMs;
      this.attention.pop(); // stale: its key changed or went
    }
  }

  /** The keys due at `nowMs`: to wake, or expired. They stay due until a committed write changes them. */
  due(nowMs: number): DueKeys {
    const taken: Attention[] = [];
    const wake = new Set<string>();
    const expire = new Set<string>();
    while (this.hasDue(nowMs)) {
      const top = this.attention.pop()!;
      taken.push(top);
      const entry = this.map.get(top[1])!;
      const expired =
        this.idleTtlMs > 0 && entry.writtenAtMs !== undefined && entry.writtenAtMs + this.idleTtlMs <= nowMs;
      (expired ? expire : wake).add(top[1]);
    }
    this.attention.addAll(taken);
    for (const key of expire) wake.delete(key);
    return { wake: [...wake], expire: [...expire] };
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
  /** A task whose state nobody writes for this long has it deleted (WARDEN_STATE_IDLE_TTL_MS); 0 or absent never. */
  readonly idleTtlMs?: number;
  /**
   * Called for each key whose latest changelog record cannot be restored (skipped): the worker raises an alert. A
   * record that a later one (a value or a tombstone) replaces is never parsed, so it raises none.
   */
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
    const store = new PartitionState<S>({ topic, partition }, this.options.idleTtlMs ?? 0);
    const started = performance.now();
    const restoredAtMs = Date.now();
    // Each key's latest record only: a value is parsed and checked once, after the read, and only if nothing came
    // after it (issue 17: parsing every record cost a restore in proportion to all of them).
    const { latest, records } = await readLatestByKey(kafka, topic, partition, `${this.options.groupId}.restore-`);
    if (records === 0) return store;
    for (const [key, { text, offset }] of latest) {
      const reason = this.restoreOne(store, key, text, schema, restoredAtMs);
      if (reason !== undefined) {
        // its latest value is unknown: the task goes on without state (fail closed)
        logger.error(
          { topic, partition, offset, key, reason },
          'corrupt state record skipped: the task restores with no state',
        );
        this.options.onCorrupt?.({ partition, offset, key, reason });
      }
    }
    logger.info(
      { topic, partition, records, keys: store.entries.size, ms: Math.round(performance.now() - started) },
      'state restored from the changelog',
    );
    return store;
  }

  /** Restores one record into the store; returns why it was skipped, if it was. */
  private restoreOne(
    store: PartitionState<S>,
    key: string,
    text: string,
    schema: ZodType<S>,
    restoredAtMs: number,
  ): string | undefined {
    let stored: Stored | undefined;
    try {
      stored = storedOf(text);
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    if (stored === undefined) return 'not a state record ({ v, w? })';
    const parsed = schema.safeParse(stored.v);
    if (!parsed.success) return `invalid value: ${parsed.error.issues[0]?.message ?? 'schema mismatch'}`;
    // A record from before writes were stamped counts as written now: its idle TTL starts at the restore.
    const writtenAtMs = stored.t ?? restoredAtMs;
    store.put(
      key,
      stored.w === undefined
        ? { value: parsed.data, writtenAtMs }
        : { value: parsed.data, wakeAtMs: stored.w, writtenAtMs },
    );
    return undefined;
  }
}
