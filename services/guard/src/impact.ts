import { noImpact } from '@warden/contracts';
import type { Document, Db } from 'mongodb';
import { argsImpactEstimator, type ImpactEstimator } from '@warden/policy';

/**
 * A dry-run estimator over the stores the tools work on: a customers.delete (by ids or by an equality filter) is
 * counted against its collection, so a "clean up the data" delete that would match half the table shows its real
 * reach; the rest is estimated from the arguments (argsImpactEstimator from @warden/policy).
 */
export function storeImpactEstimator(db: Db, customerCollections: readonly string[]): ImpactEstimator {
  const allowed = new Set(customerCollections);
  return async (tool, args) => {
    if (tool !== 'customers.delete') return argsImpactEstimator(tool, args);
    const collection = typeof args.collection === 'string' ? args.collection : '';
    if (!allowed.has(collection)) return null;
    let filter: Document;
    if (Array.isArray(args.ids)) filter = { _id: { $in: args.ids } };
    else if (typeof args.filter === 'object' && args.filter !== null && !Array.isArray(args.filter)) {
      filter = {};
      for (const [k, v] of Object.entries(args.filter)) {
        if (k.startsWith('$')) return null; // never pass an operator to the store; the schema check denies it anyway
        filter[k === 'id' ? '_id' : k] = v;
      }
    } else return null;
    const rows = await db.collection(collection).countDocuments(filter);
    return { ...noImpact, rows };
  };
}
