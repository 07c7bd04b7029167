import { defineRunnableTool } from '../runnable.js';
import { customersDelete } from '../demo-tools.js';
import { isDuplicateKey } from '../stores/mongo-errors.js';
import { storeFilter, type CustomerCollections } from '../stores/customers.js';
import type { Document } from 'mongodb';

/** The store filter the args select: the ids, or the equality filter. */
function selection(args: {
  ids?: string[] | undefined;
  filter?: Record<string, string | number | boolean | null> | undefined;
}): Document {
  return args.ids !== undefined ? { _id: { $in: args.ids } } : storeFilter(args.filter ?? {});
}

/**
 * customers.delete: archives each matching record in `<collection>_deleted` under the effect key, then deletes
 * them. The archive makes the delete recoverable, idempotent (a re-run counts the archive) and verifiable.
 * By ids or by an equality filter; estimateImpact is a dry run that counts what the selection matches now.
 */
export function customersDeleteTool(customers: CustomerCollections) {
  return defineRunnableTool({
    spec: customersDelete,
    riskTier: 'high',
    estimateImpact: async (args, ctx) => {
      const rows = await customers.get(args.collection).countDocuments(selection(args), { signal: ctx.signal });
      return { rows, files: 0, recipients: 0, moneyUsd: 0 };
    },
    run: async (args, ctx) => {
      const collection = customers.get(args.collection);
      const tombstones = customers.tombstones(args.collection);
      const docs = await collection.find(selection(args), { signal: ctx.signal }).toArray();
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
      const left = await customers.get(args.collection).countDocuments(selection(args), { signal: ctx.signal });
      // Archived but not all deleted: running it again finishes the job and counts the archive.
      return left === 0 ? { status: 'applied', output: { deleted } } : { status: 'not_applied' };
    },
  });
}
