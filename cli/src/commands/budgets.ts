/** `warden budgets`: what each tenant has spent and holds, folded from the tenant budget log (ADR 0032). */
import { hostname } from 'node:os';
import {
  LEGACY_BUDGET_COLLECTION,
  LEGACY_BUDGET_SOURCE,
  readLegacyBudgets,
  tenantBudgetLogOf,
  tenantBudgetSnapshotTopic,
  tenantBudgetTopic,
  type LegacyTenantSpend,
  type TenantBudgetLog,
  type TenantFiguresView,
} from '@warden/planner';
import type { RuntimeDeps } from '@warden/runtime';
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes, type ExitCode } from '../errors.js';
import { connect, listTopics } from '../events.js';
import { say } from './io.js';

const usd = (microUsd: number): string => (microUsd / 1e6).toFixed(6).replace(/\.?0+$/, '');

/** One line per tenant: spent, held in allowances, committed against the limit of its latest take. */
export function formatBudget(t: TenantFiguresView): string {
  const held = { tokens: t.committed.tokens - t.used.tokens, microUsd: t.committed.microUsd - t.used.microUsd };
  const limit = t.limit === undefined ? '' : ` of ${t.limit.tokens} tokens / ${usd(t.limit.microUsd)} USD`;
  return (
    `${t.tenantId}: spent ${t.used.tokens} tokens / ${usd(t.used.microUsd)} USD; ` +
    `held by planners ${held.tokens} tokens / ${usd(held.microUsd)} USD in ${t.open} allowance(s); ` +
    `committed ${t.committed.tokens} tokens / ${usd(t.committed.microUsd)} USD${limit}` +
    (t.carried === undefined ? '' : `; includes spend carried over from ${t.carried.join(', ')}`)
  );
}

/**
 * The tenant budget log of this prefix, started (it creates the topic if it is missing): folded from the planners'
 * latest snapshots when there are some (ADR 0035). The CLI writes no snapshot. Stop it when done.
 */
async function startedLog(deps: RuntimeDeps, prefix: string, topics: ReadonlySet<string>): Promise<TenantBudgetLog> {
  const snapshotTopic = tenantBudgetSnapshotTopic(prefix);
  const log = tenantBudgetLogOf(deps.kafka, prefix, {
    replicaId: `warden-cli-${hostname()}`,
    ...(topics.has(snapshotTopic) ? { snapshotTopic, snapshotEvery: 0 } : {}),
  });
  await log.start();
  return log;
}

/** `warden budgets [--tenant ID] [--json]`. */
export async function showBudgets(
  config: CliConfig,
  options: { readonly tenant?: string; readonly json: boolean },
): Promise<ExitCode> {
  const deps = await connect(config.runtime);
  const topic = tenantBudgetTopic(config.runtime.topicPrefix);
  try {
    const topics = await listTopics(deps);
    let tenants: TenantFiguresView[] = [];
    if (topics.has(topic)) {
      const log = await startedLog(deps, config.runtime.topicPrefix, topics);
      try {
        tenants = await log.everyTenant(120_000);
      } finally {
        await log.stop();
      }
    }
    if (options.tenant !== undefined) tenants = tenants.filter((t) => t.tenantId === options.tenant);
    if (options.json) say(JSON.stringify({ topic, tenants }, null, 2));
    else if (tenants.length === 0)
      say(`no tenant budget recorded on ${topic}${options.tenant === undefined ? '' : ` for ${options.tenant}`}`);
    else for (const t of tenants) say(formatBudget(t));
    return ExitCodes.ok;
  } finally {
    await deps.mongo.close();
  }
}

/** What carry-over did for one tenant. */
interface Carried {
  readonly tenantId: string;
  readonly outcome: 'carried' | 'already carried' | 'would carry';
  readonly spent: LegacyTenantSpend['committed'];
  readonly used: LegacyTenantSpend['used'];
}

const formatCarried = (c: Carried): string =>
  `${c.tenantId}: ${c.outcome} ${c.spent.tokens} tokens / ${usd(c.spent.microUsd)} USD` +
  ` (settled ${c.used.tokens} tokens / ${usd(c.used.microUsd)} USD; reservations open at the upgrade in full)`;

/** Tenants carried at once: each waits for its record to be folded. */
const CARRY_CONCURRENCY = 16;

/**
 * `warden budgets carry-over [--dry-run] [--json]`: carries each tenant's spend recorded in the planners' MongoDB
 * budget log from before ADR 0032 (`planner_budget_log`) into the tenant budget log, once. Run after the old planners
 * are stopped. A tenant carried already (by an earlier run, or another run at the same time) is left as it is: the
 * log's fold counts the first carry of a source per tenant. An old entry that cannot be read stops the command before
 * anything is written.
 */
export async function carryOverBudgets(
  config: CliConfig,
  options: { readonly dryRun: boolean; readonly json: boolean },
): Promise<ExitCode> {
  const deps = await connect(config.runtime);
  const prefix = config.runtime.topicPrefix;
  const topic = tenantBudgetTopic(prefix);
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  try {
    progress(`reading ${LEGACY_BUDGET_COLLECTION} in ${config.runtime.mongoDb}`);
    const legacy = await readLegacyBudgets(deps.db, (n) => progress(`  ${n} entries read`));
    if (legacy.malformed.length > 0) {
      const shown = legacy.malformed.slice(0, 5).map((m) => `${m.id} (${m.reason})`);
      throw new CliError(
        CliErrorCodes.failed,
        `${legacy.malformed.length} entries of ${LEGACY_BUDGET_COLLECTION} cannot be read, nothing was carried: ` +
          shown.join(', '),
        { hint: `repair or remove those entries, then run \`warden budgets carry-over\` again` },
      );
    }
    progress(`${legacy.entries} entries, ${legacy.tenants.length} tenant(s) with spend`);
    const results: Carried[] = [];
    if (legacy.tenants.length > 0) {
      const log = await startedLog(deps, prefix, await listTopics(deps));
      try {
        const before = new Map((await log.everyTenant(120_000)).map((t) => [t.tenantId, t]));
        const pending = [...legacy.tenants];
        const carryOne = async (t: LegacyTenantSpend): Promise<void> => {
          const { tenantId, committed: spent, used } = t;
          const done = before.get(tenantId)?.carried?.includes(LEGACY_BUDGET_SOURCE) === true;
          let outcome: Carried['outcome'] = done ? 'already carried' : 'would carry';
          if (!done && !options.dryRun)
            outcome = (await log.carry(tenantId, LEGACY_BUDGET_SOURCE, spent)) ? 'carried' : 'already carried';
          results.push({ tenantId, outcome, spent, used });
          if (results.length % 500 === 0) progress(`  ${results.length} of ${legacy.tenants.length} tenants`);
        };
        const lane = async (): Promise<void> => {
          for (let t = pending.shift(); t !== undefined; t = pending.shift()) await carryOne(t);
        };
        await Promise.all(Array.from({ length: CARRY_CONCURRENCY }, lane));
      } finally {
        await log.stop();
      }
    }
    results.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
    const count = (o: Carried['outcome']): number => results.filter((r) => r.outcome === o).length;
    const summary = options.dryRun
      ? `dry run: would carry ${count('would carry')} tenant(s) into ${topic}, ${count('already carried')} carried already`
      : `carried ${count('carried')} tenant(s) into ${topic}, ${count('already carried')} carried already`;
    if (options.json) {
      say(
        JSON.stringify(
          { topic, source: LEGACY_BUDGET_SOURCE, dryRun: options.dryRun, entries: legacy.entries, tenants: results },
          null,
          2,
        ),
      );
    } else {
      for (const r of results) say(formatCarried(r));
      say(summary);
    }
    return ExitCodes.ok;
  } finally {
    await deps.mongo.close();
  }
}
