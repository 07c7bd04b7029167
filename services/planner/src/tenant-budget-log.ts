import { randomBytes } from 'node:crypto';
import { ensureTopics, jsonOrUndefined, offsetsOf, readLatestByKey, sendAll } from '@warden/runtime';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { BudgetStoreError } from './errors.js';
import type { Amount, Grant, TakeOutcome, TakeRequest, TenantBudgetOwner } from './tenant-allowances.js';

/** The topic keyed by tenant whose partitions order every take and give of tenants' budgets (ADR 0032). */
export const tenantBudgetTopic = (prefix: string): string => `${prefix}.tenant-budgets.v1`;

/**
 * Settings of the tenant budget topic: kept for ever (a tenant's spend is the fold of its whole history), and
 * timestamped by the broker, so that every reader folds the same record with the same time and expires the same
 * allowances at the same point of the log.
 */
export const tenantBudgetTopicConfig: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'retention.bytes': '-1',
  'message.timestamp.type': 'LogAppendTime',
};

/**
 * The compacted topic of the tenant budget log's snapshots (ADR 0035): each tenant's figures as folded up to a point
 * of its partition, and per partition the point every tenant with records before it has a snapshot at or after.
 * A starting replica folds from there instead of from the beginning.
 */
export const tenantBudgetSnapshotTopic = (prefix: string): string => `${prefix}.tenant-budget-snapshots.v1`;

/** Settings of the snapshot topic: compacted, one record per tenant and per partition of the log is what counts. */
export const tenantBudgetSnapshotTopicConfig: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'min.cleanable.dirty.ratio': '0.5',
};

/** Records folded in a partition of the log between two snapshots of it, by default. */
export const DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY = 10_000;

const AmountSchema = z.object({ tokens: z.number().int().nonnegative(), microUsd: z.number().int().nonnegative() });

/** One record of the tenant budget topic (JSON, keyed by tenant id): internal state, not a contract event. */
export const TenantBudgetRecord = z.discriminatedUnion('k', [
  z.object({
    k: z.literal('take'),
    lease: z.string().min(1),
    min: AmountSchema,
    want: AmountSchema,
    limit: AmountSchema,
    /** After this long (from the record's log-append time) an allowance not given back is charged in full. */
    ttlMs: z.number().int().positive(),
  }),
  z.object({ k: z.literal('give'), lease: z.string().min(1), used: AmountSchema }),
  /**
   * Spend recorded before this log, carried into it once per source (`warden budgets carry-over`): counted as
   * spent by the first record of its source for the tenant, ignored after that.
   */
  z.object({ k: z.literal('carry'), source: z.string().min(1), spent: AmountSchema }),
]);
export type TenantBudgetRecord = z.infer<typeof TenantBudgetRecord>;

const OffsetSchema = z.number().int().nonnegative();

/** One tenant's figures as a snapshot holds them. */
const FiguresSnapshot = z.object({
  spent: AmountSchema,
  limit: AmountSchema.optional(),
  open: z.array(z.object({ lease: z.string().min(1), granted: AmountSchema, expiresAtMs: z.number().int() })),
  /** The sources of spend carried over (absent in snapshots written before carry records existed: none). */
  carried: z.array(z.string().min(1)).optional(),
});
export type FiguresSnapshot = z.infer<typeof FiguresSnapshot>;

/**
 * A record of the snapshot topic (JSON): a tenant's figures after folding its partition up to `next` (keyed
 * `tenant:<id>`), or a partition's mark (keyed `partition:<n>`), written after the snapshots of every tenant of the
 * partition at `next`.
 */
export const TenantBudgetSnapshotRecord = z.discriminatedUnion('k', [
  z.object({
    k: z.literal('tenant'),
    tenantId: z.string().min(1),
    partition: z.number().int().nonnegative(),
    next: OffsetSchema,
    figures: FiguresSnapshot,
  }),
  z.object({ k: z.literal('partition'), partition: z.number().int().nonnegative(), next: OffsetSchema }),
]);
export type TenantBudgetSnapshotRecord = z.infer<typeof TenantBudgetSnapshotRecord>;

const add = (a: Amount, b: Amount): Amount => ({ tokens: a.tokens + b.tokens, microUsd: a.microUsd + b.microUsd });

/**
 * One tenant's figures as the fold of its records in log order: what is spent (allowances given back, charged what
 * they were used for, and allowances expired, charged in full) and the allowances outstanding. Pure and
 * deterministic: every planner replica that folds the same partition computes the same grants and refusals, so the
 * partition's order is what serialises them (no store, no lock, no lost update).
 */
export class TenantFigures {
  private spent: Amount = { tokens: 0, microUsd: 0 };
  private lastLimit: Amount | undefined;
  private readonly outstanding = new Map<string, { readonly granted: Amount; readonly expiresAtMs: number }>();
  /** The sources whose spend was carried over (each counts once). */
  private readonly carriedFrom = new Set<string>();

  /** What is committed: spent plus every allowance outstanding. */
  committed(): Amount {
    let c = this.spent;
    for (const { granted } of this.outstanding.values()) c = add(c, granted);
    return c;
  }

  /** What was spent: allowances given back (at their use) or expired (in full). */
  used(): Amount {
    return this.spent;
  }

  /** Allowances outstanding. */
  open(): number {
    return this.outstanding.size;
  }

  /** The limit the latest take was checked against (each replica sends its configured one), if any. */
  limit(): Amount | undefined {
    return this.lastLimit;
  }

  /** The sources of spend carried over into the log, in the order they were folded. */
  carried(): string[] {
    return [...this.carriedFrom];
  }

  /** Everything the fold goes on from: restoring it and folding the records after gives what folding all gives. */
  snapshot(): FiguresSnapshot {
    return {
      spent: this.spent,
      ...(this.lastLimit === undefined ? {} : { limit: this.lastLimit }),
      open: [...this.outstanding].map(([lease, { granted, expiresAtMs }]) => ({ lease, granted, expiresAtMs })),
      ...(this.carriedFrom.size === 0 ? {} : { carried: this.carried() }),
    };
  }

  /** The figures a snapshot holds. */
  static restored(snapshot: FiguresSnapshot): TenantFigures {
    const figures = new TenantFigures();
    figures.spent = snapshot.spent;
    figures.lastLimit = snapshot.limit;
    for (const { lease, granted, expiresAtMs } of snapshot.open)
      figures.outstanding.set(lease, { granted, expiresAtMs });
    for (const source of snapshot.carried ?? []) figures.carriedFrom.add(source);
    return figures;
  }

  /**
   * Applies a take (its outcome), a give (true when the allowance was outstanding; false when it had expired or
   * was never granted, and then nothing changes) or a carry (true the first time of its source, false after), at the
   * record's log-append time `atMs`.
   */
  apply(record: TenantBudgetRecord, atMs: number): TakeOutcome | boolean {
    this.expire(atMs);
    if (record.k === 'carry') {
      if (this.carriedFrom.has(record.source)) return false;
      this.carriedFrom.add(record.source);
      this.spent = add(this.spent, record.spent);
      return true;
    }
    if (record.k === 'give') {
      const lease = this.outstanding.get(record.lease);
      if (lease === undefined) return false;
      this.outstanding.delete(record.lease);
      this.spent = add(this.spent, record.used);
      return true;
    }
    const committed = this.committed();
    if (this.outstanding.has(record.lease)) return { ok: false, committed }; // a lease is taken once
    const { min, want, limit } = record;
    this.lastLimit = limit;
    const tokens = Math.min(want.tokens, limit.tokens - committed.tokens);
    const microUsd = Math.min(want.microUsd, limit.microUsd - committed.microUsd);
    if (tokens < min.tokens || microUsd < min.microUsd) return { ok: false, committed };
    const granted = { tokens, microUsd };
    this.outstanding.set(record.lease, { granted, expiresAtMs: atMs + record.ttlMs });
    return { ok: true, granted, committed: add(committed, granted) };
  }

  /** Charges in full every allowance past its TTL (a crashed replica's: never given back). */
  private expire(atMs: number): void {
    for (const [lease, { granted, expiresAtMs }] of this.outstanding) {
      if (expiresAtMs > atMs) continue;
      this.outstanding.delete(lease);
      this.spent = add(this.spent, granted);
    }
  }
}

/** A tenant's figures as `figures` and `everyTenant` report them. */
export interface TenantFiguresView {
  readonly tenantId: string;
  /** Spent plus every allowance outstanding. */
  readonly committed: Amount;
  /** Allowances given back (charged their use) or expired (charged in full). */
  readonly used: Amount;
  /** Allowances outstanding. */
  readonly open: number;
  /** The limit of the latest take. */
  readonly limit?: Amount;
  /** The sources of spend carried over into the log (`warden budgets carry-over`), if any. */
  readonly carried?: readonly string[];
}

const viewOf = (tenantId: string, f: TenantFigures): TenantFiguresView => {
  const limit = f.limit();
  const view = { tenantId, committed: f.committed(), used: f.used(), open: f.open() };
  const carried = f.carried();
  return { ...view, ...(limit ? { limit } : {}), ...(carried.length === 0 ? {} : { carried }) };
};

/** The key a record's answer is awaited under: a take's or give's lease (unique), a carry's tenant and source. */
const answerKeyOf = (tenantId: string, record: TenantBudgetRecord): string =>
  record.k === 'carry' ? `carry:${tenantId}:${record.source}` : `${record.k}:${record.lease}`;

/** A record of the topic as read: its place, its key (the tenant), its value and its log-append time. */
export interface BudgetLogRecord {
  readonly partition: number;
  readonly offset: string;
  readonly tenantId: string | undefined;
  readonly value: Buffer | null;
  readonly timestamp: string;
}

/** What folding one record gave: a take's outcome or a give's answer, for the lease; skipped or malformed records. */
export type Folded =
  | { readonly kind: 'applied'; readonly key: string; readonly outcome: TakeOutcome | boolean }
  | { readonly kind: 'seen' }
  | { readonly kind: 'malformed' };

/**
 * Every tenant's figures, folded from the topic's records in each partition's order. A record at an offset it has
 * folded already is skipped: a reader that restarts (kafkajs restarting a crashed consumer, a broker restart) reads
 * from the beginning again, since it commits nothing, and a given-back allowance must not be granted twice.
 */
export class BudgetLogFold {
  private readonly tenants = new Map<string, TenantFigures>();
  /** The partition of each tenant's records. */
  private readonly partitionOf = new Map<string, number>();
  /** A restored tenant's records of this partition before this offset are in its snapshot already. */
  private readonly restoredTo = new Map<string, { readonly partition: number; readonly next: number }>();
  /** The next offset to fold, per partition. */
  private readonly next = new Map<number, number>();

  apply(record: BudgetLogRecord): Folded {
    const offset = Number(record.offset);
    if (offset < (this.next.get(record.partition) ?? 0)) return { kind: 'seen' };
    this.next.set(record.partition, offset + 1);
    const parsed = TenantBudgetRecord.safeParse(jsonOrUndefined(record.value?.toString('utf8')));
    if (record.tenantId === undefined || record.tenantId === '' || !parsed.success) return { kind: 'malformed' };
    const restored = this.restoredTo.get(record.tenantId);
    if (restored !== undefined && restored.partition === record.partition && offset < restored.next) {
      return { kind: 'seen' };
    }
    let figures = this.tenants.get(record.tenantId);
    if (figures === undefined) this.tenants.set(record.tenantId, (figures = new TenantFigures()));
    this.partitionOf.set(record.tenantId, record.partition);
    const outcome = figures.apply(parsed.data, Number(record.timestamp));
    return { kind: 'applied', key: answerKeyOf(record.tenantId, parsed.data), outcome };
  }

  /**
   * Starts from snapshots (the latest record of each key of the snapshot topic, as read): a partition with a mark
   * starts at the earliest of its mark and its tenants' snapshots, each tenant skipping what its own snapshot holds.
   * A partition without a mark starts from the beginning, and its tenants' snapshots are not used (a tenant of it may
   * have none). Call before folding anything. Returns where each partition starts.
   */
  restore(snapshots: readonly TenantBudgetSnapshotRecord[]): Map<number, number> {
    const marks = new Map<number, number>();
    for (const r of snapshots) if (r.k === 'partition') marks.set(r.partition, r.next);
    const starts = new Map(marks);
    for (const r of snapshots) {
      if (r.k !== 'tenant' || !marks.has(r.partition)) continue;
      this.tenants.set(r.tenantId, TenantFigures.restored(r.figures));
      this.partitionOf.set(r.tenantId, r.partition);
      this.restoredTo.set(r.tenantId, { partition: r.partition, next: r.next });
      starts.set(r.partition, Math.min(starts.get(r.partition)!, r.next));
    }
    for (const [partition, start] of starts) this.next.set(partition, start);
    return starts;
  }

  /** Snapshots of every tenant of `partition` as folded now, then the partition's mark (the order to write them). */
  snapshotOf(partition: number): TenantBudgetSnapshotRecord[] {
    const next = this.position(partition);
    const records: TenantBudgetSnapshotRecord[] = [];
    for (const [tenantId, p] of this.partitionOf) {
      if (p !== partition) continue;
      records.push({ k: 'tenant', tenantId, partition, next, figures: this.tenants.get(tenantId)!.snapshot() });
    }
    records.push({ k: 'partition', partition, next });
    return records;
  }

  /** The next offset to fold in `partition`. */
  position(partition: number): number {
    return this.next.get(partition) ?? 0;
  }

  /** The tenants with records. */
  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  /** A tenant's figures (empty when it has no record). */
  figures(tenantId: string): TenantFigures {
    return this.tenants.get(tenantId) ?? new TenantFigures();
  }
}

/** The key of a snapshot record in the snapshot topic. */
export const snapshotKeyOf = (r: TenantBudgetSnapshotRecord): string =>
  r.k === 'tenant' ? `tenant:${r.tenantId}` : `partition:${r.partition}`;

/** Options of the tenant budget log. */
export interface TenantBudgetLogOptions {
  readonly topic: string;
  /** Partitions of the topic when this replica creates it. */
  readonly partitions: number;
  /** An allowance not given back this long after its take is charged in full (PLANNER_RESERVATION_TTL_MS). */
  readonly reservationTtlMs: number;
  /** How long a take or give waits to see its own record folded before it fails (retryable). */
  readonly answerTimeoutMs: number;
  readonly logger: Logger;
  /** Names this replica's reader (its consumer group is `<topic>.<replicaId>-<random>`). */
  readonly replicaId: string;
  /**
   * The snapshot topic (ADR 0035); absent: no snapshots, the whole log is folded at start. Read at start with a
   * group `<topic>.snapshots-<random>` (inside the log's group prefix).
   */
  readonly snapshotTopic?: string;
  /** Records folded in a partition between two snapshots of it (default DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY). */
  readonly snapshotEvery?: number;
}

type Waiter = { resolve(outcome: TakeOutcome | boolean): void };

/**
 * Tenants' budgets owned by the partitions of a topic keyed by tenant (ADR 0032). A take or a give is a record
 * appended to the tenant's partition; its outcome is what the fold of that partition, in log order, says at that
 * record. Every replica reads the whole topic from the beginning and folds it, so it answers its own takes and gives
 * once its reader reaches them, and every replica agrees on every outcome. Kafka's partition order serialises
 * reservations between replicas; nothing is read or written in MongoDB.
 */
export class TenantBudgetLog implements TenantBudgetOwner {
  private readonly fold = new BudgetLogFold();
  private readonly waiting = new Map<string, Waiter>();
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private corrupt = 0;
  /** Set by stop(): nothing waits for the fold any more. */
  private stopped = false;
  /** Per partition: where this replica's last snapshot of it stood (or where it started from one). */
  private readonly snapshotAt = new Map<number, number>();
  /** Where each partition's fold started from snapshots at start (none: from the beginning). */
  private restored = new Map<number, number>();
  /** A snapshot being written (one at a time). */
  private snapshotting: Promise<void> | undefined;
  /** Until the reader reaches the end the topic had at start: those ends, when it started, and records folded. */
  private catchingUp: { ends: Map<number, number>; startedMs: number; records: number } | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: TenantBudgetLogOptions,
  ) {}

  /**
   * Creates the topics if needed and starts folding the log: from the latest snapshots when there are some (ADR
   * 0035), else from the beginning.
   */
  async start(): Promise<void> {
    const { topic, partitions, snapshotTopic } = this.options;
    const admin = this.kafka.admin();
    await admin.connect();
    let starts = new Map<number, number>();
    try {
      await ensureTopics(admin, [topic], { partitions, configs: tenantBudgetTopicConfig });
      if (snapshotTopic !== undefined) {
        await ensureTopics(admin, [snapshotTopic], { partitions: 1, configs: tenantBudgetSnapshotTopicConfig });
        starts = await this.restoreSnapshots(snapshotTopic);
      }
      const ends = await offsetsOf(admin, topic);
      this.catchingUp = {
        ends: new Map(ends.map((e) => [e.partition, Number(e.high)])),
        startedMs: performance.now(),
        records: 0,
      };
      this.caughtUp();
    } finally {
      await admin.disconnect();
    }
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    this.producer = producer;
    const consumer = this.kafka.consumer({
      groupId: `${topic}.${this.options.replicaId}-${randomBytes(4).toString('hex')}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false, // a reader folds from the beginning (or its snapshots) every time: nothing to resume from
      eachMessage: ({ partition, message }) => {
        const { offset, value, timestamp } = message;
        this.folded({ partition, offset, tenantId: message.key?.toString('utf8'), value, timestamp });
        return Promise.resolve();
      },
    });
    // What the snapshots hold is not read again (the fold would skip it anyway, as records it has seen).
    for (const [partition, offset] of starts)
      if (offset > 0) consumer.seek({ topic, partition, offset: String(offset) });
  }

  /**
   * Restores the fold from the snapshot topic's latest records; a record that does not parse is skipped with an
   * error (its partition then has no mark, or its tenant no snapshot: that partition is folded from the beginning).
   */
  private async restoreSnapshots(snapshotTopic: string): Promise<Map<number, number>> {
    const started = performance.now();
    const { latest } = await readLatestByKey(this.kafka, snapshotTopic, 0, `${this.options.topic}.snapshots-`);
    const snapshots: TenantBudgetSnapshotRecord[] = [];
    const unusable = new Set<number>();
    for (const [key, { text, offset }] of latest) {
      const parsed = TenantBudgetSnapshotRecord.safeParse(jsonOrUndefined(text));
      if (parsed.success && snapshotKeyOf(parsed.data) === key) {
        snapshots.push(parsed.data);
        continue;
      }
      this.options.logger.error({ topic: snapshotTopic, offset, key }, 'ignored a malformed tenant budget snapshot');
      // What is still trusted: every partition but the bad record's; none when a tenant's record does not say which
      // partition it is of (a bad mark needs nothing more: its partition has no mark, so it is folded from the start).
      if (parsed.success) unusable.add(parsed.data.partition);
      else if (key.startsWith('tenant:')) return new Map();
    }
    const starts = this.fold.restore(snapshots.filter((r) => !unusable.has(r.partition)));
    for (const [partition, start] of starts) this.snapshotAt.set(partition, start);
    this.restored = starts;
    if (starts.size > 0) {
      this.options.logger.info(
        {
          topic: snapshotTopic,
          tenants: snapshots.filter((r) => r.k === 'tenant').length,
          starts: Object.fromEntries(starts),
          ms: Math.round(performance.now() - started),
        },
        'tenant budget log restored from its snapshots',
      );
    }
    return starts;
  }

  /** Writes a snapshot of `partition` once it has folded snapshotEvery records since the last (one at a time). */
  private maybeSnapshot(partition: number): void {
    const { snapshotTopic } = this.options;
    const every = this.options.snapshotEvery ?? DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY;
    const producer = this.producer;
    if (snapshotTopic === undefined || every <= 0 || producer === undefined || this.snapshotting !== undefined) return;
    const position = this.fold.position(partition);
    if (position - (this.snapshotAt.get(partition) ?? 0) < every) return;
    this.snapshotAt.set(partition, position);
    const records = this.fold.snapshotOf(partition); // taken now, in memory: what is written is this point
    // In requests under the broker's largest batch (a partition of many tenants is megabytes), in order: the mark
    // goes last, after every tenant's snapshot.
    const messages = records.map((r) => ({
      topic: snapshotTopic,
      key: snapshotKeyOf(r),
      value: Buffer.from(JSON.stringify(r)),
      headers: {},
      partition: 0,
    }));
    this.snapshotting = sendAll(producer, messages)
      .then(
        () => this.options.logger.debug({ partition, next: position, records: records.length }, 'snapshot written'),
        (error: unknown) => {
          this.snapshotAt.set(partition, position - every); // tried again at the next record
          this.options.logger.warn({ err: error, partition }, 'could not write a tenant budget snapshot');
        },
      )
      .finally(() => (this.snapshotting = undefined));
  }

  /** Logs once when the reader has folded what the topic held at start (a take waits for it). */
  private caughtUp(): void {
    const c = this.catchingUp;
    if (c === undefined || [...c.ends].some(([partition, end]) => this.fold.position(partition) < end)) return;
    this.catchingUp = undefined;
    this.options.logger.info(
      { topic: this.options.topic, records: c.records, ms: Math.round(performance.now() - c.startedMs) },
      'tenant budget log folded up to where it was at start',
    );
  }

  private folded(record: BudgetLogRecord): void {
    const folded = this.fold.apply(record);
    this.maybeSnapshot(record.partition);
    if (this.catchingUp !== undefined) {
      this.catchingUp.records++;
      this.caughtUp();
    }
    if (folded.kind === 'malformed') {
      this.corrupt++;
      const { partition, offset, tenantId } = record;
      this.options.logger.error(
        { topic: this.options.topic, partition, offset, tenantId },
        'ignored a malformed tenant budget record',
      );
    }
    if (folded.kind !== 'applied') return;
    this.waiting.get(folded.key)?.resolve(folded.outcome);
    this.waiting.delete(folded.key);
  }

  /** Appends a record and waits for the fold to reach it. */
  private async append(tenantId: string, record: TenantBudgetRecord): Promise<TakeOutcome | boolean> {
    const producer = this.producer;
    if (producer === undefined) throw new BudgetStoreError('the tenant budget log is not started');
    const key = answerKeyOf(tenantId, record);
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<TakeOutcome | boolean>((resolve, reject) => {
      this.waiting.set(key, { resolve });
      timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new BudgetStoreError(`tenant ${tenantId}: ${key} not folded within ${this.options.answerTimeoutMs} ms`));
      }, this.options.answerTimeoutMs);
    });
    answered.catch(() => undefined); // awaited below; a failed send must not leave it unhandled
    try {
      await producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: [{ key: tenantId, value: JSON.stringify(record) }],
      });
      return await answered;
    } catch (error) {
      this.waiting.delete(key);
      throw error instanceof BudgetStoreError
        ? error
        : new BudgetStoreError(`tenant ${tenantId}: could not append ${key}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async take(request: TakeRequest): Promise<TakeOutcome> {
    const { tenantId, leaseId, min, want, limit } = request;
    const record: TenantBudgetRecord = {
      k: 'take',
      lease: leaseId,
      min,
      want,
      limit,
      ttlMs: this.options.reservationTtlMs,
    };
    try {
      return (await this.append(tenantId, record)) as TakeOutcome;
    } catch (error) {
      // The take may still be folded later: give it back unused at once, so that it is not held until its TTL.
      void this.append(tenantId, { k: 'give', lease: leaseId, used: { tokens: 0, microUsd: 0 } }).catch(
        () => undefined,
      );
      throw error;
    }
  }

  async give(grant: Grant, used: Amount): Promise<boolean> {
    return (await this.append(grant.tenantId, { k: 'give', lease: grant.leaseId, used })) as boolean;
  }

  /**
   * Carries spend recorded before this log into it (`warden budgets carry-over`): true when it was counted, false
   * when the tenant had spend of that source carried already (the first record of a source counts, whoever wrote it).
   */
  async carry(tenantId: string, source: string, spent: Amount): Promise<boolean> {
    return (await this.append(tenantId, { k: 'carry', source, spent })) as boolean;
  }

  /**
   * Waits until this replica has folded everything appended to the topic before the call (tests, diagnostics), then
   * returns the tenant's figures.
   */
  async figures(tenantId: string, timeoutMs = 30_000): Promise<TenantFiguresView> {
    await this.caughtUpToNow(timeoutMs);
    return viewOf(tenantId, this.fold.figures(tenantId));
  }

  /** Every tenant's figures, once this replica has folded everything appended before the call (`warden budgets`). */
  async everyTenant(timeoutMs = 30_000): Promise<TenantFiguresView[]> {
    await this.caughtUpToNow(timeoutMs);
    return this.fold
      .tenantIds()
      .sort()
      .map((id) => viewOf(id, this.fold.figures(id)));
  }

  /** Waits until this replica has folded everything appended to the topic before the call. */
  private async caughtUpToNow(timeoutMs: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = await offsetsOf(admin, this.options.topic);
      const deadline = Date.now() + timeoutMs;
      while (ends.some((e) => this.fold.position(e.partition) < Number(e.high))) {
        if (this.stopped) throw new BudgetStoreError('the tenant budget log was stopped');
        if (Date.now() > deadline)
          throw new BudgetStoreError(`the tenant budget log is not folded within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Where this replica's fold of each partition started, from the snapshots (absent: from the beginning). */
  startedFrom(): ReadonlyMap<number, number> {
    return this.restored;
  }

  /** Records this replica could not parse (logged at error level). */
  corruptRecords(): number {
    return this.corrupt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect();
    await this.snapshotting;
    await this.producer?.disconnect();
  }
}

/**
 * A tenant budget log with defaults, for readers that fold the topic of `topicPrefix` (`warden budgets`, tests,
 * benches) and writers in tests: 3 partitions if it creates the topic, a 30-minute TTL, 30 s to answer, no logs.
 */
export function tenantBudgetLogOf(
  kafka: Kafka,
  topicPrefix: string,
  overrides: Partial<TenantBudgetLogOptions> = {},
): TenantBudgetLog {
  return new TenantBudgetLog(kafka, {
    topic: tenantBudgetTopic(topicPrefix),
    partitions: 3,
    reservationTtlMs: 30 * 60_000,
    answerTimeoutMs: 30_000,
    replicaId: `reader-${process.pid}`,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}
