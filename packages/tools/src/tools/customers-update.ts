import { isDuplicateKeyError, noImpact, type JsonValue } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { EFFECTS_FIELD, updateOnce, type CustomerCollections } from '../stores/customers.js';
import { Collection, Count, Email, RecordId } from './fields.js';

/**
 * Records, under the effect key, the values the update is about to replace (first record wins: a re-run after the
 * update keeps what was there before it). Nothing is recorded for a missing record or one the effect changed already.
 */
async function recordPrevious(
  customers: CustomerCollections,
  collection: string,
  id: string,
  fields: readonly string[],
  effectKey: string,
  tenantId: string | undefined,
): Promise<void> {
  const record = await customers.get(collection).findOne({ _id: id });
  if (record === null || (record[EFFECTS_FIELD] ?? []).includes(effectKey)) return;
  const previous: Record<string, JsonValue> = {};
  const absent: string[] = [];
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    if (value === undefined) absent.push(field);
    else previous[field] = JSON.parse(JSON.stringify(value)) as JsonValue;
  }
  // the personal values kept for undo are sealed under the customer's key: an erasure shreds them (ADR 0026)
  const kept = await customers.sealKept(previous, id, tenantId);
  try {
    await customers.versions(collection).insertOne({
      _id: `${effectKey}|${id}`,
      effectKey,
      customerId: id,
      previous: kept,
      absent,
      recordedAt: new Date(),
    });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/**
 * customers.update: sets fields of one customer and records the effect key on the record, in one update whose
 * filter excludes records that carry the key already: running it twice changes nothing more, and verify() finds
 * the key. Before it, the values it replaces are kept under the effect key (`<collection>_versions`), which is what
 * its compensation, customers.revert, puts back. Its impact is one row, from the arguments (an upper bound: the id
 * may match nothing).
 */
export const customersUpdate = defineDemoTool({
  name: 'customers.update',
  description: 'Set fields of one customer by id',
  destructive: true,
  riskTier: 'high',
  argsSchema: z
    .object({
      collection: Collection,
      id: RecordId,
      set: z
        .object({
          email: Email.optional(),
          phone: z
            .string()
            .regex(/^\+?[0-9 ()-]{5,30}$/, 'expected a phone number')
            .optional(),
          name: z.string().min(1).max(200).optional(),
          status: z.enum(['active', 'inactive', 'suspended']).optional(),
          creditLimitUsd: z.number().nonnegative().max(10_000_000).optional(),
        })
        .strict()
        .refine((set) => Object.keys(set).length > 0, 'set must name at least one field'),
    })
    .strict(),
  outputSchema: z.object({ matched: Count, modified: Count }),
  resources: { collections: ['collection'] },
  outputTrust: 'trusted',
  criticalFields: ['id', 'set.email', 'set.phone', 'set.name', 'set.creditLimitUsd'],
  estimateImpact: () => Promise.resolve({ ...noImpact, rows: 1 }),
  run: async (args, deps, ctx) => {
    const collection = deps.customers.get(args.collection);
    ctx.signal.throwIfAborted();
    await recordPrevious(
      deps.customers,
      args.collection,
      args.id,
      Object.keys(args.set),
      ctx.idempotencyKey,
      ctx.tenantId,
    );
    ctx.signal.throwIfAborted();
    return updateOnce(collection, args.id, { $set: args.set }, ctx.idempotencyKey, ctx.signal);
  },
  compensation: {
    kind: 'compensable',
    compensate: ({ args, result, effectKey }) => {
      if (matchedOf(result) === 0) return null; // no such customer: nothing changed
      return { tool: 'customers.revert', args: { collection: args.collection, id: args.id, reverts: effectKey } };
    },
  },
  verify: async (args, deps, ctx) => {
    const done = await deps.customers
      .get(args.collection)
      .countDocuments({ _id: args.id, [EFFECTS_FIELD]: ctx.idempotencyKey }, { signal: ctx.signal });
    return done > 0 ? { status: 'applied', output: { matched: 1, modified: 1 } } : { status: 'not_applied' };
  },
});

/** The `matched` count of a recorded customers.update result; throws on a record that is not one. */
function matchedOf(result: JsonValue): number {
  const matched = (result as { matched?: unknown } | null)?.matched;
  if (typeof matched !== 'number') throw new TypeError('the recorded result has no matched count');
  return matched;
}
