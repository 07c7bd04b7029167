import { customersDelete, defineRunnableTool } from '@warden/tools';
import { isDuplicateKey } from './mongo-errors.js';
import type { CustomerCollections } from './customers-store.js';

/**
 * customers.delete: archives each matching record in `<collection>_deleted` under the effect key, then deletes
 * them. The archive makes the delete recoverable, idempotent (a re-run counts the archive) and verifiable.
 * The spec takes ids only; a delete by filter would need the spec in @warden/tools extended.
 */
export function customersDeleteTool(customers: CustomerCollections) {
  return defineRunnableTool({
    spec: customersDelete,
    riskTier: 'high',
    estimateImpact: async (args, ctx) => {
      const rows = await customers
        .get(args.collection)
        .countDocuments({ _id: { $in: args.ids } }, { signal: ctx.signal });
      return { rows, files: 0, recipients: 0, moneyUsd: 0 };
    },
    run: async (args, ctx) => {
      const collection = customers.get(args.collection);
      const tombstones = customers.tombstones(args.collection);
      const docs = await collection.find({ _id: { $in: args.ids } }, { signal: ctx.signal }).toArray();
      if (docs.length > 0) {
        ctx.signal.throwIfAborted();
        try {
          await tombstones.insertMany(
            docs.map((record) => ({
              _id: `${ctx.idempotencyKey}|${record._id}`,
              effectKey: ctx.idempotencyKey,
              customerId: record._id,
              record,
              deletedAt: new Date(),
            })),
            { ordered: false },
          );
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
        ctx.signal.throwIfAborted();
        await collection.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
      }
      const deleted = await tombstones.countDocuments({ effectKey: ctx.idempotencyKey }, { signal: ctx.signal });
      return { deleted };
    },
    verify: async (args, ctx) => {
      const deleted = await customers
        .tombstones(args.collection)
        .countDocuments({ effectKey: ctx.idempotencyKey }, { signal: ctx.signal });
      if (deleted === 0) return { status: 'not_applied' };
      const left = await customers
        .get(args.collection)
        .countDocuments({ _id: { $in: args.ids } }, { signal: ctx.signal });
      // Archived but not all deleted: running it again finishes the job and counts the archive.
      return left === 0 ? { status: 'applied', output: { deleted } } : { status: 'not_applied' };
    },
  });
}
