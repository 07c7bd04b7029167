import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { EFFECTS_FIELD } from '../stores/customers.js';
import { Collection, Count, Email, RecordId } from './fields.js';

/**
 * customers.update: sets fields of one customer and records the effect key on the record, in one update whose
 * filter excludes records that carry the key already: running it twice changes nothing more, and verify() finds
 * the key. Its impact is one row, from the arguments (an upper bound: the id may match nothing).
 */
export const customersUpdate = defineDemoTool({
  name: 'customers.update',
  description: 'Set fields of one customer by id',
  destructive: true,
  riskTier: 'high',
  argsSchema: z
    .object({
      collection: Collection,
      id: RecordId,
      set: z
        .object({
          email: Email.optional(),
          phone: z
            .string()
            .regex(/^\+?[0-9 ()-]{5,30}$/, 'expected a phone number')
            .optional(),
          name: z.string().min(1).max(200).optional(),
          status: z.enum(['active', 'inactive', 'suspended']).optional(),
          creditLimitUsd: z.number().nonnegative().max(10_000_000).optional(),
        })
        .strict()
        .refine((set) => Object.keys(set).length > 0, 'set must name at least one field'),
    })
    .strict(),
  outputSchema: z.object({ matched: Count, modified: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  criticalFields: ['id', 'set.email', 'set.phone', 'set.name', 'set.creditLimitUsd'],
  estimateImpact: () => Promise.resolve({ ...noImpact, rows: 1 }),
  run: async (args, deps, ctx) => {
    const collection = deps.customers.get(args.collection);
    ctx.signal.throwIfAborted();
    const result = await collection.updateOne(
      { _id: args.id, [EFFECTS_FIELD]: { $ne: ctx.idempotencyKey } },
      { $set: args.set, $push: { _effects: ctx.idempotencyKey } },
    );
    if (result.matchedCount === 0) {
      const done = await collection.countDocuments(
        { _id: args.id, [EFFECTS_FIELD]: ctx.idempotencyKey },
        { signal: ctx.signal },
      );
      return { matched: done, modified: done };
    }
    return { matched: result.matchedCount, modified: result.modifiedCount };
  },
  verify: async (args, deps, ctx) => {
    const done = await deps.customers
      .get(args.collection)
      .countDocuments({ _id: args.id, [EFFECTS_FIELD]: ctx.idempotencyKey }, { signal: ctx.signal });
    return done > 0 ? { status: 'applied', output: { matched: 1, modified: 1 } } : { status: 'not_applied' };
  },
});
