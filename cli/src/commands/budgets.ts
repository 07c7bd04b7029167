/** `warden budgets`: what each tenant has spent and holds, folded from the tenant budget log (ADR 0032). */
import { hostname } from 'node:os';
import {
  tenantBudgetLogOf,
  tenantBudgetSnapshotTopic,
  tenantBudgetTopic,
  type TenantFiguresView,
} from '@warden/planner';
import type { CliConfig } from '../config.js';
import { ExitCodes, type ExitCode } from '../errors.js';
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
    `committed ${t.committed.tokens} tokens / ${usd(t.committed.microUsd)} USD${limit}`
  );
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
    const snapshotTopic = tenantBudgetSnapshotTopic(config.runtime.topicPrefix);
    let tenants: TenantFiguresView[] = [];
    if (topics.has(topic)) {
      // Folded from the planners' latest snapshots when there are some (ADR 0035); the CLI writes none.
      const log = tenantBudgetLogOf(deps.kafka, config.runtime.topicPrefix, {
        replicaId: `warden-cli-${hostname()}`,
        ...(topics.has(snapshotTopic) ? { snapshotTopic, snapshotEvery: 0 } : {}),
      });
      await log.start();
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
