import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Amount } from './tenant-allowances.js';
import type { TenantBudgetLog } from './tenant-budget-log.js';

/**
 * The MongoDB collection tenants' budgets were kept in before ADR 0032 (ADR 0031's BudgetStore): an append-only log
 * per budget, `_id = <scope>#<seq>`, each entry holding the budget's figures after its change.
 */
export const LEGACY_BUDGET_COLLECTION = 'planner_budget_log';

/** The source a carry record of the tenant budget log names for the spend read from that collection. */
export const LEGACY_BUDGET_SOURCE = 'planner_budget_log';

const Figure = z.number().int().nonnegative();

/** What an entry of the old log holds that the carry-over reads. */
const LegacyEntry = z.object({
  scope: z.string().min(1),
  seq: z.number().int().positive(),
  committedTokens: Figure,
  committedMicroUsd: Figure,
  usedTokens: Figure,
  usedMicroUsd: Figure,
});
type LegacyEntry = z.infer<typeof LegacyEntry>;

/** One tenant's figures at the head (highest seq) of its budget in the old log. */
export interface LegacyTenantSpend {
  readonly tenantId: string;
  /** Settled: allowances given back, charged their use. */
  readonly used: Amount;
  /**
   * Used plus the reservations still open at the upgrade: what is carried. The planners that held them are gone
   * (the upgrade stops them), so, as the old store's sweep would have at their expiry, they are charged in full.
   */
  readonly committed: Amount;
  /** The head's seq: how many entries the tenant's budget had. */
  readonly entries: number;
}

/** What the old log holds: each tenant's head, and the entries that could not be read (their _id and why). */
export interface LegacyBudgets {
  readonly tenants: LegacyTenantSpend[];
  readonly entries: number;
  readonly malformed: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

const TENANT_SCOPE = /^tenant:(.+)$/;

/**
 * Reads the old budget log once, whole (a one-off: FerretDB scans it either way), keeping each tenant's head. Task
 * budgets (`task:` scopes, from before ADR 0031) are not carried: their tasks' budgets live in task state now.
 */
export async function readLegacyBudgets(
  db: Db,
  onProgress: (entries: number) => void = () => undefined,
): Promise<LegacyBudgets> {
  const heads = new Map<string, LegacyEntry>();
  const malformed: Array<{ id: string; reason: string }> = [];
  let entries = 0;
  const cursor = db
    .collection(LEGACY_BUDGET_COLLECTION)
    .find(
      {},
      { projection: { scope: 1, seq: 1, committedTokens: 1, committedMicroUsd: 1, usedTokens: 1, usedMicroUsd: 1 } },
    );
  for await (const doc of cursor) {
    entries++;
    if (entries % 10_000 === 0) onProgress(entries);
    const parsed = LegacyEntry.safeParse(doc);
    if (!parsed.success) {
      malformed.push({
        id: String(doc._id),
        reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
      continue;
    }
    if (!TENANT_SCOPE.test(parsed.data.scope)) continue;
    const head = heads.get(parsed.data.scope);
    if (head === undefined || head.seq < parsed.data.seq) heads.set(parsed.data.scope, parsed.data);
  }
  const tenants = [...heads.values()]
    .map((e) => ({
      tenantId: TENANT_SCOPE.exec(e.scope)![1]!,
      used: { tokens: e.usedTokens, microUsd: e.usedMicroUsd },
      committed: { tokens: e.committedTokens, microUsd: e.committedMicroUsd },
      entries: e.seq,
    }))
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  return { tenants, entries, malformed };
}

/**
 * Warns, once a planner has started, when the old budget log holds a tenant's spend that was not carried into the
 * tenant budget log: that tenant's limit counts only from the upgrade until `warden budgets carry-over` runs. Reads
 * one entry of the old collection and one tenant's figures; never throws.
 */
export async function warnOfUncarriedLegacySpend(db: Db, log: TenantBudgetLog, logger: Logger): Promise<void> {
  try {
    const entry = await db
      .collection(LEGACY_BUDGET_COLLECTION)
      .findOne({ scope: { $regex: '^tenant:' } }, { projection: { scope: 1 } });
    const tenantId = typeof entry?.scope === 'string' ? TENANT_SCOPE.exec(entry.scope)?.[1] : undefined;
    if (tenantId === undefined) return;
    const figures = await log.figures(tenantId, 120_000);
    if (figures.carried?.includes(LEGACY_BUDGET_SOURCE) === true) return;
    logger.warn(
      { collection: LEGACY_BUDGET_COLLECTION, tenantId },
      "tenants' spend recorded before the tenant budget log (ADR 0032) is not carried into it: their limits count " +
        'from the upgrade; run `warden budgets carry-over` once (docs/deploy.md)',
    );
  } catch (error) {
    logger.debug({ err: error }, 'could not check the old budget log for spend to carry over');
  }
}
