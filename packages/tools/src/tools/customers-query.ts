import { customersQuery } from '../demo-tools.js';
import { defineRunnableTool } from '../runnable.js';
import { publicRecord, storeFilter, type CustomerCollections } from '../stores/customers.js';

/** customers.query: customers matching an equality filter (`id` matches the record id). Read-only. */
export function customersQueryTool(customers: CustomerCollections) {
  return defineRunnableTool({
    spec: customersQuery,
    riskTier: 'low',
    estimateImpact: () => Promise.resolve({ rows: 0, files: 0, recipients: 0, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const collection = customers.get(args.collection);
      const filter = storeFilter(args.filter);
      const docs = await collection
        .find(filter, { signal: ctx.signal })
        .limit(args.limit ?? 100)
        .toArray();
      const total = await collection.countDocuments(filter, { signal: ctx.signal });
      return { rows: docs.map(publicRecord), total };
    },
  });
}
