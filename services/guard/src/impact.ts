import { toolImpactEstimator, type ImpactEstimator } from '@warden/policy';
import { demoImpactDeps, demoTools } from '@warden/tools';
import type { Db } from 'mongodb';

/**
 * The demo tools' dry runs over the guard's database: a customers.delete (by ids or by an equality filter) is
 * counted against its collection among `customerCollections`, so a "clean up the data" delete that would match half
 * the table shows its real reach; the other tools are sized from their arguments.
 */
export function storeImpactEstimator(db: Db, customerCollections: readonly string[]): ImpactEstimator {
  return toolImpactEstimator(demoTools, demoImpactDeps(db, customerCollections));
}
