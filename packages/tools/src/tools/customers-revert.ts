import { noImpact } from '@warden/contracts';
import type { UpdateFilter } from 'mongodb';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolCallError } from '../errors.js';
import { EFFECTS_FIELD, updateOnce, type CustomerDoc } from '../stores/customers.js';
import { Collection, Count, RecordId } from './fields.js';
import { EffectKey, compensationOnly } from './compensation-fields.js';

/**
 * customers.revert: the compensation of customers.update (ADR 0026). Puts back the values the update `reverts`
 * replaced on one customer, as the update recorded them before it ran (`<collection>_versions`): fields that had a
 * value get it back, fields that had none are removed. Like customers.update it records its own effect key on the
 * record in the same write, so running it twice changes nothing more and verify() finds the key. Impact: one row.
 */
export const customersRevert = defineDemoTool({
  name: 'customers.revert',
  description: 'Put back the values one customers.update effect replaced (a rollback step)',
  destructive: true,
  riskTier: 'high',
  argsSchema: z.object({ collection: Collection, id: RecordId, reverts: EffectKey }).strict(),
  outputSchema: z.object({ matched: Count, modified: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  criticalFields: ['id', 'reverts'],
  estimateImpact: () => Promise.resolve({ ...noImpact, rows: 1 }),
  run: async (args, deps, ctx) => {
    const collection = deps.customers.get(args.collection);
    const version = await deps.customers.versions(args.collection).findOne({ _id: `${args.reverts}|${args.id}` });
    if (version === null) {
      throw new ToolCallError(`no values were recorded for ${args.id} before effect ${args.reverts}`, {
        retryable: false,
      });
    }
    const previous = await deps.customers.openKept(
      version.previous,
      `the version of ${args.id} kept by ${args.reverts}`,
    );
    ctx.signal.throwIfAborted();
    const update: UpdateFilter<CustomerDoc> = {};
    if (Object.keys(previous).length > 0) update.$set = previous;
    if (version.absent.length > 0) update.$unset = Object.fromEntries(version.absent.map((f) => [f, '']));
    return updateOnce(collection, args.id, update, ctx.idempotencyKey, ctx.signal);
  },
  verify: async (args, deps, ctx) => {
    const done = await deps.customers
      .get(args.collection)
      .countDocuments({ _id: args.id, [EFFECTS_FIELD]: ctx.idempotencyKey }, { signal: ctx.signal });
    return done > 0 ? { status: 'applied', output: { matched: 1, modified: 1 } } : { status: 'not_applied' };
  },
  compensation: compensationOnly,
});
