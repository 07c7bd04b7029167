import { MongoServerError, type Collection, type Db } from 'mongodb';
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
  kind: 'reserve' | 'settle';
  ref: string;
}

type Figures = Pick<BudgetEntry, 'committedTokens' | 'committedMicroUsd' | 'usedTokens' | 'usedMicroUsd'>;

const ZERO: Figures = { committedTokens: 0, committedMicroUsd: 0, usedTokens: 0, usedMicroUsd: 0 };

/** Appends lost to another writer before giving up (the runtime then retries the event). */
const MAX_APPEND_ATTEMPTS = 500;

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
      readonly taskCommitted: { tokens: number; microUsd: number };
    }
  | { readonly ok: false; readonly refusal: BudgetRefusal };

const DUPLICATE_KEY = 11000;

/**
 * Token and money budgets per task and per tenant in MongoDB, correct with any number of planner replicas. Each
 * budget is an append-only log; a change reads the head entry (seq n), checks the limit, and inserts entry n + 1.
 * The insert is the atomic step: when two replicas race for n + 1, the unique _id lets one win and the other reads
 * the new head and checks again. (FerretDB 1.24 does not apply `$inc` or conditional updates atomically under
 * concurrency: 400 concurrent `$inc` gave 23; unique inserts are exact. See docs/adr/0007-planner.md.) The task's
 * budget is taken first, then the tenant's; if the tenant's is refused the task's is given back. Settling replaces
 * a reservation by the actual usage.
 */
export class BudgetStore {
  private readonly log: Collection<BudgetEntry>;
  private indexed: Promise<unknown> | undefined;

  constructor(db: Db) {
    this.log = db.collection<BudgetEntry>('planner_budget_log');
  }

  private async head(scope: string): Promise<{ seq: number; figures: Figures }> {
    this.indexed ??= this.log.createIndex({ scope: 1, seq: -1 }).catch(() => undefined);
    await this.indexed;
    const doc = await this.log.findOne({ scope }, { sort: { seq: -1 } });
    if (doc === null) return { seq: 0, figures: ZERO };
    const { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } = doc;
    return { seq: doc.seq, figures: { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } };
  }

  /** Appends the change `next` computes from the head; null from `next` refuses (nothing is written). */
  private async append(
    scope: string,
    kind: BudgetEntry['kind'],
    ref: string,
    next: (head: Figures) => Figures | null,
  ): Promise<{ ok: true; figures: Figures } | { ok: false; head: Figures }> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      let head;
      try {
        head = await this.head(scope);
      } catch (error) {
        throw new BudgetStoreError(`could not read budget ${scope}`, { cause: error });
      }
      const figures = next(head.figures);
      if (figures === null) return { ok: false, head: head.figures };
      const seq = head.seq + 1;
      try {
        const { committedTokens, committedMicroUsd, usedTokens, usedMicroUsd } = figures;
        await this.log.insertOne({
          _id: `${scope}#${String(seq).padStart(12, '0')}`,
          scope,
          seq,
          committedTokens,
          committedMicroUsd,
          usedTokens,
          usedMicroUsd,
          kind,
          ref,
        });
        return { ok: true, figures };
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) {
          throw new BudgetStoreError(`could not write budget ${scope}`, { cause: error });
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

  private async give(
    scope: string,
    ref: string,
    reserved: { tokens: number; microUsd: number },
    used: { tokens: number; microUsd: number },
  ): Promise<void> {
    await this.append(scope, 'settle', ref, (h) => ({
      committedTokens: h.committedTokens - reserved.tokens + used.tokens,
      committedMicroUsd: h.committedMicroUsd - reserved.microUsd + used.microUsd,
      usedTokens: h.usedTokens + used.tokens,
      usedMicroUsd: h.usedMicroUsd + used.microUsd,
    }));
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

  /** Reserves `tokens` and `microUsd` from the task's and the tenant's budgets, or says which one is short. */
  async reserve(request: {
    readonly reservationId: string;
    readonly taskId: string;
    readonly tenantId: string;
    readonly tokens: number;
    readonly microUsd: number;
    readonly taskLimit: BudgetLimit;
    readonly tenantLimit: BudgetLimit;
  }): Promise<ReserveOutcome> {
    const taskKey = `task:${request.taskId}`;
    const tenantKey = `tenant:${request.tenantId}`;
    const { tokens, microUsd, reservationId } = request;
    const task = await this.take(taskKey, reservationId, tokens, microUsd, request.taskLimit);
    if (!task.ok) {
      return {
        ok: false,
        refusal: BudgetStore.refusal(task.head, request.taskLimit, tokens, microUsd, {
          tokens: 'tokens',
          cost: 'cost',
        }),
      };
    }
    const tenant = await this.take(tenantKey, reservationId, tokens, microUsd, request.tenantLimit);
    if (!tenant.ok) {
      await this.give(taskKey, reservationId, { tokens, microUsd }, { tokens: 0, microUsd: 0 });
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
      reservation: { reservationId, tokens, microUsd, scopes: [taskKey, tenantKey] },
      taskCommitted: { tokens: task.figures.committedTokens, microUsd: task.figures.committedMicroUsd },
    };
  }

  /** Replaces a reservation by what the call actually used (0 when it failed before any usage). */
  async settle(reservation: Reservation, used: { tokens: number; microUsd: number }): Promise<void> {
    for (const scope of reservation.scopes) {
      await this.give(
        scope,
        reservation.reservationId,
        { tokens: reservation.tokens, microUsd: reservation.microUsd },
        used,
      );
    }
  }

  /** A budget's current figures (tests, diagnostics). */
  async figures(scope: string): Promise<Figures> {
    return (await this.head(scope)).figures;
  }
}
