import { defineRunnableTool } from '../runnable.js';
import { customersUpdate } from '../demo-tools.js';
import { EFFECTS_FIELD, type CustomerCollections } from '../stores/customers.js';

/**
 * customers.update: sets fields of one customer and records the effect key on the record, in one update whose
 * filter excludes records that carry the key already: running it twice changes nothing more, and verify() finds
 * the key.
 */
export function customersUpdateTool(customers: CustomerCollections) {
  return defineRunnableTool({
    spec: customersUpdate,
    riskTier: 'medium',
    estimateImpact: async (args, ctx) => {
      const rows = await customers.get(args.collection).countDocuments({ _id: args.id }, { signal: ctx.signal });
      return { rows, files: 0, recipients: 0, moneyUsd: 0 };
    },
    run: async (args, ctx) => {
      const collection = customers.get(args.collection);
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
    verify: async (args, ctx) => {
      const done = await customers
        .get(args.collection)
        .countDocuments({ _id: args.id, [EFFECTS_FIELD]: ctx.idempotencyKey }, { signal: ctx.signal });
      return done > 0 ? { status: 'applied', output: { matched: 1, modified: 1 } } : { status: 'not_applied' };
    },
  });
}
