import { randomUUID } from 'node:crypto';
import { OneAtATime } from './one-at-a-time.js';

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

/** Tokens and whole micro-USD (integers: budgets never drift). */
export interface Amount {
  readonly tokens: number;
  readonly microUsd: number;
}

/** An allowance the owner granted: a reservation of the tenant's budget, returned with what it was used for. */
export interface Grant {
  readonly tenantId: string;
  readonly leaseId: string;
  readonly granted: Amount;
}

/** What the owner answers to a take: the grant and the tenant's committed figures after it, or a refusal. */
export type TakeOutcome =
  | { readonly ok: true; readonly granted: Amount; readonly committed: Amount }
  | { readonly ok: false; readonly committed: Amount };

/** A take of an allowance: at least `min`, at most `want`, of the tenant's budget under `limit`. */
export interface TakeRequest {
  readonly tenantId: string;
  readonly leaseId: string;
  readonly min: Amount;
  readonly want: Amount;
  readonly limit: BudgetLimit;
}

/**
 * The owner of a tenant's budget figures (ADR 0031): whoever serialises its reservations between planner replicas.
 * The tenant budget log (ADR 0032): the partitions of a topic keyed by tenant, whose order decides every take.
 */
export interface TenantBudgetOwner {
  /**
   * Grants an allowance of at least `min` and at most `want` (each figure capped at what the tenant has left under
   * `limit`, counting every allowance outstanding), or refuses when less than `min` is left. An allowance not given
   * back before its TTL is charged in full.
   */
  take(request: TakeRequest): Promise<TakeOutcome>;
  /** Gives an allowance back, charging the tenant `used`; false when it had expired (then charged in full). */
  give(grant: Grant, used: Amount): Promise<boolean>;
}

/** A model call's hold on a tenant's allowance: settle it when the call ends, whatever the outcome. */
export interface TenantHold {
  readonly tenantId: string;
  readonly tokens: number;
  readonly microUsd: number;
}

/** The outcome of a reservation of a tenant's budget. */
export type TenantReserveOutcome =
  | {
      readonly ok: true;
      readonly hold: TenantHold;
      /**
       * What this process may still spend for the tenant, in micro-USD: what the owner had left at this process's
       * last take, plus what is left of its allowance after this hold (the tenant's budget metric, ADR 0031).
       */
      readonly remainingMicroUsd: number;
    }
  | { readonly ok: false; readonly refusal: BudgetRefusal };

/** What the planner's model calls need of the tenants' budgets (TenantAllowances; faked in unit tests). */
export interface TenantBudgets {
  reserve(request: {
    readonly tenantId: string;
    readonly tokens: number;
    readonly microUsd: number;
    readonly limit: BudgetLimit;
  }): Promise<TenantReserveOutcome>;
  /** Replaces a hold by what the call actually used (0 when it failed before any usage). Never throws. */
  settle(hold: TenantHold, used: Amount): Promise<void>;
}

/** How allowances are sized and when they go back (PLANNER_TENANT_LEASE_*, config.ts). */
export interface AllowanceSettings {
  /** The least an allowance is taken for (more when a call needs more; less when the tenant has less left). */
  readonly size: Amount;
  /**
   * New calls are held on an allowance only this long after it was taken: its TTL at the owner minus the longest
   * model call, so every call held on it ends before the owner would expire it.
   */
  readonly usableMs: number;
  /** An allowance no call has used for this long is given back. */
  readonly idleMs: number;
}

interface Lease {
  readonly grant: Grant;
  readonly takenAtMs: number;
  lastUsedMs: number;
  spentTokens: number;
  spentMicroUsd: number;
  heldTokens: number;
  heldMicroUsd: number;
  inFlight: number;
  /** current: calls may be held on it; retiring: given back when its last call settles; returned: given back. */
  state: 'current' | 'retiring' | 'returned';
}

interface Hold extends TenantHold {
  readonly lease: Lease;
  settled: boolean;
}

const leftOf = (lease: Lease): Amount => ({
  tokens: lease.grant.granted.tokens - lease.spentTokens - lease.heldTokens,
  microUsd: lease.grant.granted.microUsd - lease.spentMicroUsd - lease.heldMicroUsd,
});

/** Why the owner refused: the tenant's budget, its limit, what is committed (all allowances counted), what was asked. */
export function tenantRefusal(committed: Amount, limit: BudgetLimit, need: Amount): BudgetRefusal {
  if (committed.tokens + need.tokens > limit.tokens) {
    return { budget: 'tenant_tokens', limit: limit.tokens, used: committed.tokens, requested: need.tokens };
  }
  return {
    budget: 'tenant_cost',
    limit: limit.microUsd / 1_000_000,
    used: committed.microUsd / 1_000_000,
    requested: need.microUsd / 1_000_000,
  };
}

/**
 * Tenant budgets by allowance (ADR 0031). Per tenant this process holds one allowance taken from the owner; a model
 * call is held on it and settled in memory (JS runs one handler step at a time, so the accounting is exact), so a
 * call touches no store while the allowance lasts. When it runs short (or is past its usable time) the unspent part
 * goes back and a new one is taken, of max(what the call needs, the configured size), capped at what the tenant has
 * left. The owner refuses only when less than the call needs is left, counting every replica's outstanding
 * allowances. Allowances go back when idle, before their TTL, and at close; a crashed process's are never given back
 * and the owner's sweep charges them in full at their TTL (the tenant never under-counts).
 */
export class TenantAllowances implements TenantBudgets {
  private readonly current = new Map<string, Lease>();
  private readonly retiring = new Set<Lease>();
  /** Takes and gives per tenant run one at a time (a refill is re-checked once it runs). */
  private readonly serial = new OneAtATime();
  /** What the owner had left per tenant (micro-USD) at this process's last take: the metric's base. */
  private readonly ownerLeft = new Map<string, number>();
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly owner: TenantBudgetOwner,
    private readonly settings: AllowanceSettings,
    private readonly options: {
      readonly now?: () => number;
      /** A give that failed (the allowance stays open at the owner until its TTL, then is charged in full). */
      readonly onError?: (error: unknown, grant: Grant) => void;
      readonly newId?: () => string;
    } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Holds `need` on the tenant's current allowance when it is usable and has room; undefined otherwise. */
  private tryHold(tenantId: string, need: Amount): TenantReserveOutcome | undefined {
    const lease = this.current.get(tenantId);
    if (lease === undefined || this.closed) return undefined;
    if (this.now() >= lease.takenAtMs + this.settings.usableMs) return undefined;
    const left = leftOf(lease);
    if (left.tokens < need.tokens || left.microUsd < need.microUsd) return undefined;
    return this.holdOn(lease, need);
  }

  private holdOn(lease: Lease, need: Amount): TenantReserveOutcome {
    lease.heldTokens += need.tokens;
    lease.heldMicroUsd += need.microUsd;
    lease.inFlight++;
    lease.lastUsedMs = this.now();
    const hold: Hold = { tenantId: lease.grant.tenantId, ...need, lease, settled: false };
    const remainingMicroUsd = (this.ownerLeft.get(hold.tenantId) ?? 0) + Math.max(0, leftOf(lease).microUsd);
    return { ok: true, hold, remainingMicroUsd };
  }

  /** Gives an allowance back, charged `used` (its spending by default); a failure is reported, never thrown. */
  private async giveBack(lease: Lease, used?: Amount): Promise<void> {
    lease.state = 'returned';
    this.retiring.delete(lease);
    if (this.current.get(lease.grant.tenantId) === lease) this.current.delete(lease.grant.tenantId);
    try {
      await this.owner.give(lease.grant, used ?? { tokens: lease.spentTokens, microUsd: lease.spentMicroUsd });
    } catch (error) {
      this.options.onError?.(error, lease.grant);
    }
  }

  /** The tenant's current allowance stops taking calls: given back now, or when its last call settles. */
  private async retire(lease: Lease | undefined): Promise<void> {
    if (lease === undefined) return;
    this.current.delete(lease.grant.tenantId);
    if (lease.inFlight === 0) return this.giveBack(lease);
    lease.state = 'retiring';
    this.retiring.add(lease);
  }

  async reserve(request: {
    readonly tenantId: string;
    readonly tokens: number;
    readonly microUsd: number;
    readonly limit: BudgetLimit;
  }): Promise<TenantReserveOutcome> {
    const { tenantId, limit } = request;
    const need = { tokens: request.tokens, microUsd: request.microUsd };
    return (
      this.tryHold(tenantId, need) ??
      this.serial.run(tenantId, async () => {
        const again = this.tryHold(tenantId, need); // another call refilled while this one waited
        if (again !== undefined) return again;
        await this.retire(this.current.get(tenantId));
        const size = this.settings.size;
        // once closing, an allowance is taken for this call only and given back when it settles
        const want = this.closed
          ? need
          : { tokens: Math.max(need.tokens, size.tokens), microUsd: Math.max(need.microUsd, size.microUsd) };
        const leaseId = `lease-${this.options.newId?.() ?? randomUUID()}`;
        const taken = await this.owner.take({ tenantId, leaseId, min: need, want, limit });
        if (!taken.ok) return { ok: false, refusal: tenantRefusal(taken.committed, limit, need) };
        const now = this.now();
        const lease: Lease = {
          grant: { tenantId, leaseId, granted: taken.granted },
          takenAtMs: now,
          lastUsedMs: now,
          spentTokens: 0,
          spentMicroUsd: 0,
          heldTokens: 0,
          heldMicroUsd: 0,
          inFlight: 0,
          state: this.closed ? 'retiring' : 'current',
        };
        if (this.closed) this.retiring.add(lease);
        else this.current.set(tenantId, lease);
        this.ownerLeft.set(tenantId, limit.microUsd - taken.committed.microUsd);
        return this.holdOn(lease, need);
      })
    );
  }

  async settle(hold: TenantHold, used: Amount): Promise<void> {
    const h = hold as Hold;
    if (h.settled) return;
    h.settled = true;
    const lease = h.lease;
    lease.heldTokens -= h.tokens;
    lease.heldMicroUsd -= h.microUsd;
    lease.spentTokens += used.tokens;
    lease.spentMicroUsd += used.microUsd;
    lease.inFlight--;
    lease.lastUsedMs = this.now();
    if (lease.state === 'retiring' && lease.inFlight === 0) await this.giveBack(lease);
  }

  /**
   * Gives back every allowance with no call in flight that was idle for `idleMs` or is past its usable time (run
   * by the timer start() sets). Returns how many it gave back.
   */
  async returnIdle(): Promise<number> {
    const due = (lease: Lease, now: number): boolean =>
      lease.state === 'current' &&
      lease.inFlight === 0 &&
      (now - lease.lastUsedMs >= this.settings.idleMs || now >= lease.takenAtMs + this.settings.usableMs);
    const now = this.now();
    const returned = await Promise.all(
      [...this.current.entries()]
        .filter(([, lease]) => due(lease, now))
        .map(([tenantId, lease]) =>
          this.serial.run(tenantId, async () => {
            if (this.current.get(tenantId) !== lease || !due(lease, this.now())) return 0;
            await this.giveBack(lease);
            return 1;
          }),
        ),
    );
    return returned.reduce<number>((a, b) => a + b, 0);
  }

  /** Checks for idle allowances every half idle time (unref'd: it never keeps the process up). */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(
      () => void this.returnIdle(),
      Math.max(10, Math.min(this.settings.idleMs, this.settings.usableMs) / 2),
    );
    this.timer.unref();
  }

  /**
   * Gives every allowance back. A call still in flight is charged in full (its usage is not known yet: fail
   * closed); its later settlement changes nothing. Calls reserved after close take an allowance of their own need,
   * given back when they settle.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const leases = [...this.current.values(), ...this.retiring];
    this.current.clear();
    await Promise.all(
      leases.map((lease) =>
        this.giveBack(lease, {
          tokens: lease.spentTokens + lease.heldTokens,
          microUsd: lease.spentMicroUsd + lease.heldMicroUsd,
        }),
      ),
    );
  }

  /** A tenant's current allowance: granted, spent and held in flight (tests, diagnostics). */
  allowanceOf(tenantId: string): { granted: Amount; spent: Amount; held: Amount } | undefined {
    const lease = this.current.get(tenantId);
    if (lease === undefined) return undefined;
    return {
      granted: lease.grant.granted,
      spent: { tokens: lease.spentTokens, microUsd: lease.spentMicroUsd },
      held: { tokens: lease.heldTokens, microUsd: lease.heldMicroUsd },
    };
  }
}
