import { isDuplicateKeyError } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';
import { BudgetStoreError } from './errors.js';
import { OneAtATime } from './one-at-a-time.js';
import type { Amount, Grant, TakeOutcome, TenantBudgetOwner } from './tenant-allowances.js';

/**
 * One entry of a budget's log: the budget's figures after a change. Integers only (tokens, micro-USD). Entries are
 * only ever inserted, with `_id = <scope>#<seq>`: the unique _id makes "append after seq n" atomic.
 */
interface BudgetEntry {
  _id: string;
  scope: string;
  seq: number;
  /** used + reserved: what a reservation compares with the limit. */
  committedTokens: number;
  committedMicroUsd: number;
  usedTokens: number;
  usedMicroUsd: number;
  kind: 'reserve' | 'settle' | 'expire';
  ref: string;
  /**
   * Unique over the log: a reservation's own _id, and `close:<scope>|<ref>` on the one entry that closes it (its
   * settlement, or its expiry by the sweep). The unique index makes "close once" atomic between a late settlement
   * and the sweep, or two sweeping replicas.
   */
  closeKey: string;
  /** On reservations: when the sweep may expire it (a crash left it open). */
  expiresAt?: Date;
}

const closeKeyOf = (scope: string, ref: string): string => `close:${scope}|${ref}`;

type Figures = Pick<BudgetEntry, 'committedTokens' | 'committedMicroUsd' | 'usedTokens' | 'usedMicroUsd'>;

const ZERO: Figures = { committedTokens: 0, committedMicroUsd: 0, usedTokens: 0, usedMicroUsd: 0 };

/** Appends lost to another writer before giving up (the runtime then retries the event). */
const MAX_APPEND_ATTEMPTS = 500;
/** Budget heads a planner remembers (the oldest is forgotten first); a forgotten one is read again. */
const MAX_REMEMBERED_HEADS = 100_000;

type Head = { readonly seq: number; readonly figures: Figures };

/** A limit in tokens and micro-USD. */
export interface BudgetLimit {
  readonly tokens: number;
  readonly microUsd: number;
}

/** Why a reservation was refused: which budget, its limit, what is committed, what was asked. */
export interface BudgetRefusal {
  readonly budget: 'tokens' | 'cost' | 'tenant_tokens' | 'tenant_cost';
  readonly limit: number;
  readonly used: number;
  readonly requested: number;
}

/**
 * Tenants' token and money budgets in MongoDB: the owner of their figures, which grants allowances (ADR 0031), correct
 * with any number of planner replicas (scope `tenant:<id>`; `task:` scopes are only in logs written before ADR 0031,
 * the task's budget is in its keyed state now). Each budget is an append-only log; a change reads the head entry (seq n), checks the limit, and inserts entry n + 1.
 * The insert is the atomic step: when two replicas race for n + 1, the unique _id lets one win and the other reads
 * the new head and checks again. (FerretDB 1.24 does not apply `$inc` or conditional updates atomically under
 * concurrency: 400 concurrent `$inc` gave 23; unique inserts are exact. See docs/adr/0007-planner.md.) Settling
 * replaces a reservation by the actual usage.
 */
export class BudgetStore implements TenantBudgetOwner {
  private readonly log: Collection<BudgetEntry>;
  private indexed: Promise<unknown> | undefined;
  /** Reservations that expired before this were swept already (by this process). */
  private sweptUntil: Date;
  /**
   * The head of each budget as this process last wrote or read it: a guess that saves reading the log (FerretDB
   * scans it on every lookup), checked by the insert itself: a stale guess collides on the unique _id, is forgotten
   * and the head read. A budget never seen is guessed empty the same way. A refusal is only ever made on a head read.
   */
  private readonly heads = new Map<string, Head>();
  /** Appends to one budget by this process run one at a time: they would only race each other for the same seq. */
  private readonly appending = new OneAtATime();

  constructor(
    db: Db,
    private readonly options: { readonly reservationTtlMs: number; readonly now?: () => Date } = {
      reservationTtlMs: 30 * 60_000,
    },
  ) {
    this.log = db.collection<BudgetEntry>('planner_budget_log');
    this.sweptUntil = new Date(this.now().getTime() - 7 * 24 * 3_600_000);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private ready(): Promise<unknown> {
    this.indexed ??= Promise.all([
      this.log.createIndex({ scope: 1, seq: -1 }).catch(() => undefined),
      // the sweep's query: open reservations by expiry (docs/mongodb-queries.md)
      this.log.createIndex({ kind: 1, expiresAt: 1 }).catch(() => undefined),
      // without it a close could happen twice: creating it must succeed (or a unique one must be there already)
      this.uniqueCloseKeyIndex(),
    ]).catch((error: unknown) => {
      this.indexed = undefined;
      throw new BudgetStoreError('could not create the budget log indexes', { cause: error });
    });
    return this.indexed;
  }

  /**
   * The unique index on closeKey, sparse so that log entries written before closeKey existed do not collide (on
   * MongoDB a missing field indexes as null). An existing unique index on the same key (created without `sparse`)
   * is accepted as it is.
   */
  private async uniqueCloseKeyIndex(): Promise<void> {
    try {
      await this.log.createIndex({ closeKey: 1 }, { unique: true, sparse: true });
    } catch (error) {
      const existing = await this.log.indexes();
      const unique = existing.some((i) => i.unique === true && Object.keys(i.key).join() === 'closeKey');
      if (!unique) throw error;
    }
  }

  private async head(scope: string): Promise<{ seq: number; figures: Figures }> {
    await this.ready();
    const doc = await this.log.findOne({ scope }, { sort: { seq: -1 } });
    if (doc === null) return { seq: 0, figures: ZERO };
    const { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } = doc;
    return { seq: doc.seq, figures: { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } };
  }

  private remember(scope: string, head: Head): void {
    this.heads.delete(scope);
    if (this.heads.size >= MAX_REMEMBERED_HEADS) this.heads.delete(this.heads.keys().next().value!);
    this.heads.set(scope, head);
  }

  /** Appends the change `next` computes from the head; null from `next` refuses (nothing is written). */
  private append(
    scope: string,
    kind: BudgetEntry['kind'],
    ref: string,
    next: (head: Figures) => Figures | null,
  ): Promise<{ ok: true; figures: Figures } | { ok: false; head: Figures } | { ok: false; closed: true }> {
    return this.appending.run(scope, () => this.appendNow(scope, kind, ref, next));
  }

  private async appendNow(
    scope: string,
    kind: BudgetEntry['kind'],
    ref: string,
    next: (head: Figures) => Figures | null,
  ): Promise<{ ok: true; figures: Figures } | { ok: false; head: Figures } | { ok: false; closed: true }> {
    const closes = kind !== 'reserve';
    await this.ready();
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      let head: Head = this.heads.get(scope) ?? { seq: 0, figures: ZERO };
      let read = false;
      const readHead = async (): Promise<Head> => {
        read = true;
        try {
          return await this.head(scope);
        } catch (error) {
          throw new BudgetStoreError(`could not read budget ${scope}`, { cause: error });
        }
      };
      if (attempt > 0) head = await readHead();
      let figures = next(head.figures);
      if (figures === null && !read) {
        head = await readHead(); // refuse only on the head as read, never on a guess
        figures = next(head.figures);
      }
      if (figures === null) {
        this.remember(scope, head);
        return { ok: false, head: head.figures };
      }
      const seq = head.seq + 1;
      const _id = `${scope}#${String(seq).padStart(12, '0')}`;
      try {
        const { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } = figures;
        await this.log.insertOne({
          _id,
          scope,
          seq,
          committedTokens,
          committedMicroUsd,
          usedTokens,
          usedMicroUsd,
          kind,
          ref,
          closeKey: closes ? closeKeyOf(scope, ref) : _id,
          ...(closes ? {} : { expiresAt: new Date(this.now().getTime() + this.options.reservationTtlMs) }),
        });
        this.remember(scope, { seq, figures });
        return { ok: true, figures };
      } catch (error) {
        this.heads.delete(scope);
        if (!isDuplicateKeyError(error)) {
          throw new BudgetStoreError(`could not write budget ${scope}`, { cause: error });
        }
        // lost the race for seq, or (a close) the reservation was closed already: only the second is final
        if (closes && (await this.log.findOne({ closeKey: closeKeyOf(scope, ref) })) !== null) {
          return { ok: false, closed: true };
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
      }
    }
    throw new BudgetStoreError(`budget ${scope}: gave up after ${MAX_APPEND_ATTEMPTS} contended appends`);
  }

  /** Closes a reservation with its actual usage; false when it was closed already (expired by the sweep). */
  private async closeIn(
    scope: string,
    ref: string,
    reserved: { tokens: number; microUsd: number },
    used: { tokens: number; microUsd: number },
    kind: 'settle' | 'expire' = 'settle',
  ): Promise<boolean> {
    const r = await this.append(scope, kind, ref, (h) => ({
      committedTokens: h.committedTokens - reserved.tokens + used.tokens,
      committedMicroUsd: h.committedMicroUsd - reserved.microUsd + used.microUsd,
      usedTokens: h.usedTokens + used.tokens,
      usedMicroUsd: h.usedMicroUsd + used.microUsd,
    }));
    return r.ok;
  }

  /**
   * Grants an allowance of the tenant's budget (TenantBudgetOwner, ADR 0031): a reservation of at least `min` and
   * at most `want`, each figure capped at what the tenant has left (limit minus committed: what is used plus every
   * allowance outstanding, any replica's), or a refusal with the figures as read when less than `min` is left.
   */
  async take(request: {
    readonly tenantId: string;
    readonly leaseId: string;
    readonly min: Amount;
    readonly want: Amount;
    readonly limit: BudgetLimit;
  }): Promise<TakeOutcome> {
    const { min, want, limit } = request;
    let granted: Amount = min;
    const r = await this.append(`tenant:${request.tenantId}`, 'reserve', request.leaseId, (h) => {
      const tokens = Math.min(want.tokens, limit.tokens - h.committedTokens);
      const microUsd = Math.min(want.microUsd, limit.microUsd - h.committedMicroUsd);
      if (tokens < min.tokens || microUsd < min.microUsd) return null;
      granted = { tokens, microUsd }; // the last computation is the one inserted
      return {
        committedTokens: h.committedTokens + tokens,
        committedMicroUsd: h.committedMicroUsd + microUsd,
        usedTokens: h.usedTokens,
        usedMicroUsd: h.usedMicroUsd,
      };
    });
    if (!r.ok) {
      if (!('head' in r)) throw new BudgetStoreError(`allowance ${request.leaseId} is not new`);
      return { ok: false, committed: { tokens: r.head.committedTokens, microUsd: r.head.committedMicroUsd } };
    }
    return {
      ok: true,
      granted,
      committed: { tokens: r.figures.committedTokens, microUsd: r.figures.committedMicroUsd },
    };
  }

  /**
   * Gives an allowance back, replacing it by what was used of it. Returns false when the sweep had expired it
   * already (it was then charged in full, which is never less than what was used).
   */
  give(grant: Grant, used: Amount): Promise<boolean> {
    return this.closeIn(`tenant:${grant.tenantId}`, grant.leaseId, grant.granted, used);
  }

  /**
   * Expires reservations a crash left open: each reservation past its `expiresAt` that nothing closed is closed now
   * and charged in full (its call's usage is unknown, and the reservation bounds it: fail closed, never under-count).
   * The budget stops counting it as in flight. Safe to run on every replica at once (closing is unique). Returns
   * how many it expired.
   */
  async sweepExpired(): Promise<number> {
    await this.ready();
    const now = this.now();
    const due = await this.log
      .find({ kind: 'reserve', expiresAt: { $gte: this.sweptUntil, $lt: now } })
      .limit(1_000)
      .toArray();
    let expired = 0;
    for (const entry of due) {
      if ((await this.log.findOne({ closeKey: closeKeyOf(entry.scope, entry.ref) })) !== null) continue;
      const previous = await this.log.findOne({ scope: entry.scope, seq: entry.seq - 1 });
      const reserved = {
        tokens: entry.committedTokens - (previous?.committedTokens ?? 0),
        microUsd: entry.committedMicroUsd - (previous?.committedMicroUsd ?? 0),
      };
      if (await this.closeIn(entry.scope, entry.ref, reserved, reserved, 'expire')) expired++;
    }
    if (due.length < 1_000) this.sweptUntil = now;
    return expired;
  }

  /** A budget's current figures (tests, diagnostics). */
  async figures(scope: string): Promise<Figures> {
    return (await this.head(scope)).figures;
  }
}
