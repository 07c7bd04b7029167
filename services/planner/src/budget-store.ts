import { isDuplicateKeyError } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';
import { BudgetStoreError } from './errors.js';

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

/** A reservation made before a model call; settle it when the call ends, whatever the outcome. */
export interface Reservation {
  readonly reservationId: string;
  readonly tokens: number;
  readonly microUsd: number;
  readonly scopes: readonly string[];
}

/** Why a reservation was refused: which budget, its limit, what is committed, what was asked. */
export interface BudgetRefusal {
  readonly budget: 'tokens' | 'cost' | 'tenant_tokens' | 'tenant_cost';
  readonly limit: number;
  readonly used: number;
  readonly requested: number;
}

/** The outcome of a reserve. */
export type ReserveOutcome =
  | {
      readonly ok: true;
      readonly reservation: Reservation;
      /** The tenant's budget committed with this reservation (its metrics: budget remaining). */
      readonly tenantCommitted: { tokens: number; microUsd: number };
    }
  | { readonly ok: false; readonly refusal: BudgetRefusal };

/**
 * Token and money budgets per tenant (the `tenant:` scope; `task:` scopes are only in logs written before ADR 0031) in MongoDB, correct with any number of planner replicas. Each
 * budget is an append-only log; a change reads the head entry (seq n), checks the limit, and inserts entry n + 1.
 * The insert is the atomic step: when two replicas race for n + 1, the unique _id lets one win and the other reads
 * the new head and checks again. (FerretDB 1.24 does not apply `$inc` or conditional updates atomically under
 * concurrency: 400 concurrent `$inc` gave 23; unique inserts are exact. See docs/adr/0007-planner.md.) Settling
 * replaces a reservation by the actual usage.
 */
export class BudgetStore {
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
  private readonly appending = new Map<string, Promise<unknown>>();

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

  /** Runs `fn` after this process's earlier appends to the same budget. */
  private serially<T>(scope: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.appending.get(scope) ?? Promise.resolve()).then(fn);
    const settled = run.catch(() => undefined);
    this.appending.set(scope, settled);
    void settled.then(() => {
      if (this.appending.get(scope) === settled) this.appending.delete(scope);
    });
    return run;
  }

  /** Appends the change `next` computes from the head; null from `next` refuses (nothing is written). */
  private append(
    scope: string,
    kind: BudgetEntry['kind'],
    ref: string,
    next: (head: Figures) => Figures | null,
  ): Promise<{ ok: true; figures: Figures } | { ok: false; head: Figures } | { ok: false; closed: true }> {
    return this.serially(scope, () => this.appendNow(scope, kind, ref, next));
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

  private take(scope: string, ref: string, tokens: number, microUsd: number, limit: BudgetLimit) {
    return this.append(scope, 'reserve', ref, (h) =>
      h.committedTokens + tokens > limit.tokens || h.committedMicroUsd + microUsd > limit.microUsd
        ? null
        : {
            committedTokens: h.committedTokens + tokens,
            committedMicroUsd: h.committedMicroUsd + microUsd,
            usedTokens: h.usedTokens,
            usedMicroUsd: h.usedMicroUsd,
          },
    );
  }

  /** Closes a reservation with its actual usage; false when it was closed already (expired by the sweep). */
  private async give(
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

  private static refusal(
    head: Figures,
    limit: BudgetLimit,
    tokens: number,
    microUsd: number,
    names: { tokens: BudgetRefusal['budget']; cost: BudgetRefusal['budget'] },
  ): BudgetRefusal {
    if (head.committedTokens + tokens > limit.tokens) {
      return { budget: names.tokens, limit: limit.tokens, used: head.committedTokens, requested: tokens };
    }
    return {
      budget: names.cost,
      limit: limit.microUsd / 1_000_000,
      used: head.committedMicroUsd / 1_000_000,
      requested: microUsd / 1_000_000,
    };
  }

  /**
   * Reserves `tokens` and `microUsd` from the tenant's budget, or says it is short. (The task's own budget is in the
   * task's keyed state, ADR 0031: it needs no store.)
   */
  async reserve(request: {
    readonly reservationId: string;
    readonly tenantId: string;
    readonly tokens: number;
    readonly microUsd: number;
    readonly tenantLimit: BudgetLimit;
  }): Promise<ReserveOutcome> {
    const tenantKey = `tenant:${request.tenantId}`;
    const { tokens, microUsd, reservationId } = request;
    const tenant = await this.take(tenantKey, reservationId, tokens, microUsd, request.tenantLimit);
    if (!tenant.ok) {
      if (!('head' in tenant)) throw new BudgetStoreError(`reservation ${reservationId} is not new`);
      return {
        ok: false,
        refusal: BudgetStore.refusal(tenant.head, request.tenantLimit, tokens, microUsd, {
          tokens: 'tenant_tokens',
          cost: 'tenant_cost',
        }),
      };
    }
    return {
      ok: true,
      reservation: { reservationId, tokens, microUsd, scopes: [tenantKey] },
      tenantCommitted: { tokens: tenant.figures.committedTokens, microUsd: tenant.figures.committedMicroUsd },
    };
  }

  /**
   * Replaces a reservation by what the call actually used (0 when it failed before any usage). Returns false when
   * the sweep had expired it already (it was then charged in full, which is never less than the usage).
   */
  async settle(reservation: Reservation, used: { tokens: number; microUsd: number }): Promise<boolean> {
    let all = true;
    for (const scope of reservation.scopes) {
      const closed = await this.give(
        scope,
        reservation.reservationId,
        { tokens: reservation.tokens, microUsd: reservation.microUsd },
        used,
      );
      all &&= closed;
    }
    return all;
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
      if (await this.give(entry.scope, entry.ref, reserved, reserved, 'expire')) expired++;
    }
    if (due.length < 1_000) this.sweptUntil = now;
    return expired;
  }

  /** A budget's current figures (tests, diagnostics). */
  async figures(scope: string): Promise<Figures> {
    return (await this.head(scope)).figures;
  }
}
