import { isDuplicateKeyError, noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { RecordId } from './fields.js';

/** A recorded refund: `_id` is the effect key, so one effect refunds once. */
export interface RefundDoc {
  _id: string;
  orderId: string;
  amountUsd: number;
  reason: string;
  refundedAt: Date;
}

const REFUNDS = 'refunds';

/**
 * payments.refund: refunds (part of) an order by recording it in a ledger collection (a payment provider would
 * settle it). Its impact is the amount. Not in the list; it exercises money limits and amounts.
 */
export const paymentsRefund = defineDemoTool({
  name: 'payments.refund',
  description: 'Refund an order',
  destructive: true,
  riskTier: 'critical',
  argsSchema: z
    .object({ orderId: RecordId, amountUsd: z.number().positive().max(1_000_000), reason: z.string().min(1).max(500) })
    .strict(),
  outputSchema: z.object({ refundId: z.string().min(1), amountUsd: z.number().nonnegative() }),
  resources: {},
  outputTrust: 'trusted',
  criticalFields: ['orderId', 'amountUsd'],
  compensation: {
    kind: 'irreversible',
    reason: 'money paid out cannot be taken back by Warden; a charge is a new payment a person decides',
  },
  estimateImpact: (args) => Promise.resolve({ ...noImpact, moneyUsd: args.amountUsd }),
  run: async (args, deps, ctx) => {
    ctx.signal.throwIfAborted();
    try {
      await deps.db.collection<RefundDoc>(REFUNDS).insertOne({
        _id: ctx.idempotencyKey,
        orderId: args.orderId,
        amountUsd: args.amountUsd,
        reason: args.reason,
        refundedAt: new Date(),
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    return { refundId: ctx.idempotencyKey, amountUsd: args.amountUsd };
  },
  verify: async (args, deps, ctx) => {
    const found = await deps.db
      .collection<RefundDoc>(REFUNDS)
      .countDocuments({ _id: ctx.idempotencyKey }, { signal: ctx.signal });
    return found > 0
      ? { status: 'applied', output: { refundId: ctx.idempotencyKey, amountUsd: args.amountUsd } }
      : { status: 'not_applied' };
  },
});
