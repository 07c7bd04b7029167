import { z } from 'zod';
import { JsonValue, noImpact } from '@warden/contracts';
import { defineDemoTool } from '../demo-deps.js';
import { CUSTOMER_PERSONAL_FIELDS, publicRecord, storeFilter } from '../stores/customers.js';
import { Collection, Count, FieldName, Scalar } from './fields.js';

/** customers.query: customers matching an equality filter (`id` matches the record id). Read-only. */
export const customersQuery = defineDemoTool({
  name: 'customers.query',
  description: 'Read customers of a collection matching an equality filter',
  destructive: false,
  riskTier: 'low',
  argsSchema: z
    .object({
      collection: Collection,
      filter: z.record(FieldName, Scalar),
      limit: z.number().int().min(1).max(1_000).optional(),
    })
    .strict(),
  outputSchema: z.object({ rows: z.array(z.record(z.string(), JsonValue)), total: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  personalData: { records: 'rows', subjectField: 'id', fields: CUSTOMER_PERSONAL_FIELDS },
  criticalFields: [],
  estimateImpact: () => Promise.resolve(noImpact),
  run: async (args, deps, ctx) => {
    const collection = deps.customers.get(args.collection);
    const filter = storeFilter(args.filter);
    const docs = await collection
      .find(filter, { signal: ctx.signal })
      .limit(args.limit ?? 100)
      .toArray();
    const total = await collection.countDocuments(filter, { signal: ctx.signal });
    return { rows: docs.map(publicRecord), total };
  },
});
