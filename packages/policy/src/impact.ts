import { noImpact, type Impact, type JsonObject } from '@warden/contracts';

/** Estimates the impact of a destructive action before it runs; null when it cannot tell. */
export type ImpactEstimator = (tool: string, args: JsonObject) => Promise<Impact | null>;

const count = (v: unknown): number => (Array.isArray(v) ? v.length : 0);

/**
 * An estimator from the arguments alone, for the demo tools: rows by ids, recipients by addresses, files by paths,
 * money by amount. A tool whose impact depends on the store (a delete by filter) needs a dry run against it (the
 * guard service's store estimator); here such a tool gets null and the guard escalates (impact_unknown) rather
 * than guessing.
 */
export const argsImpactEstimator: ImpactEstimator = (tool, args) => {
  switch (tool) {
    case 'customers.update':
      return Promise.resolve({ ...noImpact, rows: 1 });
    case 'customers.delete':
      return Promise.resolve(Array.isArray(args.ids) ? { ...noImpact, rows: count(args.ids) } : null);
    case 'email.send':
      return Promise.resolve({ ...noImpact, recipients: count(args.to) + count(args.cc) });
    case 'files.write':
      return Promise.resolve({ ...noImpact, files: 1 });
    case 'files.delete':
      return Promise.resolve({ ...noImpact, files: count(args.paths) });
    case 'payments.refund':
      return Promise.resolve(typeof args.amountUsd === 'number' ? { ...noImpact, moneyUsd: args.amountUsd } : null);
    default:
      return Promise.resolve(null);
  }
};
