import type { Impact, JsonObject } from '@warden/contracts';
import type { Db, Document } from 'mongodb';

/** Estimates the impact of a destructive action before it runs; null when it cannot tell. */
export type ImpactEstimator = (tool: string, args: JsonObject) => Promise<Impact | null>;

const count = (v: unknown): number => (Array.isArray(v) ? v.length : 0);

/**
 * An estimator from the arguments alone, for the demo tools: rows by ids, recipients by addresses, files by paths,
 * money by amount. A tool whose impact depends on the store (a delete by filter) needs the executor's dry run
 * (the tool registry's estimateImpact); until one is wired in, such a tool gets null and the guard escalates
 * (impact_unknown) rather than guessing.
 */
export const argsImpactEstimator: ImpactEstimator = (tool, args) => {
  const zero: Impact = { rows: 0, files: 0, recipients: 0, moneyUsd: 0 };
  switch (tool) {
    case 'customers.update':
      return Promise.resolve({ ...zero, rows: 1 });
    case 'customers.delete':
      return Promise.resolve(Array.isArray(args.ids) ? { ...zero, rows: count(args.ids) } : null);
    case 'email.send':
      return Promise.resolve({ ...zero, recipients: count(args.to) + count(args.cc) });
    case 'files.write':
      return Promise.resolve({ ...zero, files: 1 });
    case 'files.delete':
      return Promise.resolve({ ...zero, files: count(args.paths) });
    case 'payments.refund':
      return Promise.resolve(typeof args.amountUsd === 'number' ? { ...zero, moneyUsd: args.amountUsd } : null);
    default:
      return Promise.resolve(null);
  }
};

/**
 * A dry-run estimator over the stores the tools work on: a customers.delete (by ids or by an equality filter) is
 * counted against its collection, so a "clean up the data" delete that would match half the table shows its real
 * reach; the rest is estimated from the arguments.
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
    return { rows, files: 0, recipients: 0, moneyUsd: 0 };
  };
}
