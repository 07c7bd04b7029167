import { isDuplicateKeyError, noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolRefusedError } from '../errors.js';
import type { CustomerCollections } from '../stores/customers.js';
import { Collection, Count } from './fields.js';
import { EffectKey, compensationOnly } from './compensation-fields.js';

/** How many of the records a delete archived are in the collection now. */
async function presentCount(
  customers: CustomerCollections,
  collection: string,
  deletedBy: string,
  signal: AbortSignal,
): Promise<{ archived: number; present: number }> {
  const archived = await customers.tombstones(collection).find({ effectKey: deletedBy }, { signal }).toArray();
  if (archived.length === 0) return { archived: 0, present: 0 };
  const present = await customers
    .get(collection)
    .countDocuments({ _id: { $in: archived.map((t) => t.customerId) } }, { signal });
  return { archived: archived.length, present };
}

/**
 * customers.restore: the compensation of customers.delete (ADR 0026). Puts back, exactly as they were, the records
 * the delete `deletedBy` archived in `<collection>_deleted`. A record whose id is in the collection again is left as
 * it is (a duplicate id is never overwritten), so running it twice changes nothing more, and verify() finds every
 * archived record present. Its impact is the number of archived records, counted in the archive by its dry run.
 */
export const customersRestore = defineDemoTool({
  name: 'customers.restore',
  description: 'Put back the customers one customers.delete effect removed (a rollback step)',
  destructive: true,
  riskTier: 'high',
  argsSchema: z.object({ collection: Collection, deletedBy: EffectKey }).strict(),
  outputSchema: z.object({ restored: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  criticalFields: ['deletedBy'],
  estimateImpact: async (args, deps, ctx) => {
    if (deps.customers.readArchive === undefined) {
      throw new ToolRefusedError(`no archive of ${args.collection} to count in`);
    }
    const rows = await deps.customers
      .readArchive(args.collection)
      .countDocuments({ effectKey: args.deletedBy }, { signal: ctx.signal });
    return { ...noImpact, rows };
  },
  run: async (args, deps, ctx) => {
    const archived = await deps.customers
      .tombstones(args.collection)
      .find({ effectKey: args.deletedBy }, { signal: ctx.signal })
      .toArray();
    if (archived.length > 0) {
      // opened to be put back; an erased customer's record refuses the whole call (nothing restored from [erased])
      const records = await Promise.all(
        archived.map((t) =>
          deps.customers.openKept(t.record, `the record of ${t.customerId} kept by ${args.deletedBy}`),
        ),
      );
      ctx.signal.throwIfAborted();
      try {
        await deps.customers.get(args.collection).insertMany(
          records.map((record, i) => ({ ...record, _id: archived[i]!.customerId })),
          { ordered: false },
        );
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
    const { present } = await presentCount(deps.customers, args.collection, args.deletedBy, ctx.signal);
    return { restored: present };
  },
  verify: async (args, deps, ctx) => {
    const { archived, present } = await presentCount(deps.customers, args.collection, args.deletedBy, ctx.signal);
    return archived > 0 && present === archived
      ? { status: 'applied', output: { restored: present } }
      : { status: 'not_applied' };
  },
  compensation: compensationOnly,
});
