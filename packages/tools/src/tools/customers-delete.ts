import { isDuplicateKeyError, noImpact } from '@warden/contracts';
import type { Document } from 'mongodb';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { storeFilter } from '../stores/customers.js';
import { Collection, Count, FieldName, RecordId, Scalar } from './fields.js';

/** The store filter the args select: the ids, or the equality filter. */
function selection(args: {
  ids?: string[] | undefined;
  filter?: Record<string, string | number | boolean | null> | undefined;
}): Document {
  return args.ids !== undefined ? { _id: { $in: args.ids } } : storeFilter(args.filter ?? {});
}

/**
 * customers.delete: deletes customers by id or by an equality filter. A filter's reach is only known by a dry run
 * against the store (estimateImpact counts what the selection matches now), which is how a "clean up the data"
 * delete of half the table is caught. run() archives each matching record in `<collection>_deleted` under the effect
 * key, then deletes them: the archive makes the delete recoverable, idempotent (a re-run counts the archive) and
 * verifiable.
 */
export const customersDelete = defineDemoTool({
  name: 'customers.delete',
  description: 'Delete customers by id, or every customer matching an equality filter',
  destructive: true,
  riskTier: 'critical',
  argsSchema: z
    .object({
      collection: Collection,
      ids: z.array(RecordId).min(1).max(1_000).optional(),
      filter: z.record(FieldName, Scalar).optional(),
    })
    .strict()
    .refine((a) => (a.ids === undefined) !== (a.filter === undefined), 'give either ids or filter, not both'),
  outputSchema: z.object({ deleted: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  criticalFields: ['ids.*', 'filter.*'],
  estimateImpact: async (args, deps, ctx) => {
    const rows = await deps.customers.read(args.collection).countDocuments(selection(args), { signal: ctx.signal });
    return { ...noImpact, rows };
  },
  run: async (args, deps, ctx) => {
    const collection = deps.customers.get(args.collection);
    const tombstones = deps.customers.tombstones(args.collection);
    const docs = await collection.find(selection(args), { signal: ctx.signal }).toArray();
    if (docs.length > 0) {
      ctx.signal.throwIfAborted();
      try {
        // each record's personal fields are kept sealed under its customer's key: an erasure shreds them (ADR 0026)
        const kept = await Promise.all(docs.map((record) => deps.customers.sealKept(record, record._id, ctx.tenantId)));
        await tombstones.insertMany(
          kept.map((record) => ({
            _id: `${ctx.idempotencyKey}|${record._id}`,
            effectKey: ctx.idempotencyKey,
            customerId: record._id,
            record,
            deletedAt: new Date(),
          })),
          { ordered: false },
        );
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      ctx.signal.throwIfAborted();
      await collection.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
    }
    const deleted = await tombstones.countDocuments({ effectKey: ctx.idempotencyKey }, { signal: ctx.signal });
    return { deleted };
  },
  compensation: {
    kind: 'compensable',
    compensate: ({ args, result, effectKey }) => {
      const deleted = (result as { deleted?: unknown } | null)?.deleted;
      if (typeof deleted !== 'number') throw new TypeError('the recorded result has no deleted count');
      return deleted === 0
        ? null
        : { tool: 'customers.restore', args: { collection: args.collection, deletedBy: effectKey } };
    },
  },
  verify: async (args, deps, ctx) => {
    const deleted = await deps.customers
      .tombstones(args.collection)
      .countDocuments({ effectKey: ctx.idempotencyKey }, { signal: ctx.signal });
    if (deleted === 0) return { status: 'not_applied' };
    const left = await deps.customers.get(args.collection).countDocuments(selection(args), { signal: ctx.signal });
    // Archived but not all deleted: running it again finishes the job and counts the archive.
    return left === 0 ? { status: 'applied', output: { deleted } } : { status: 'not_applied' };
  },
});
