import { defineRunnableTool } from '../runnable.js';
import { paymentsRefund } from '../demo-tools.js';
import type { Db } from 'mongodb';
import { isDuplicateKey } from '../stores/mongo-errors.js';

/** A recorded refund: `_id` is the effect key, so one effect refunds once. */
export interface RefundDoc {
  _id: string;
  orderId: string;
  amountUsd: number;
  reason: string;
  refundedAt: Date;
}

/** payments.refund: records a refund in a ledger collection (a payment provider would settle it). */
export function paymentsRefundTool(db: Db, collection = 'refunds') {
  const refunds = db.collection<RefundDoc>(collection);
  return defineRunnableTool({
    spec: paymentsRefund,
    riskTier: 'critical',
    estimateImpact: (args) => Promise.resolve({ rows: 0, files: 0, recipients: 0, moneyUsd: args.amountUsd }),
    run: async (args, ctx) => {
      ctx.signal.throwIfAborted();
      try {
        await refunds.insertOne({
          _id: ctx.idempotencyKey,
          orderId: args.orderId,
          amountUsd: args.amountUsd,
          reason: args.reason,
          refundedAt: new Date(),
        });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      return { refundId: ctx.idempotencyKey, amountUsd: args.amountUsd };
    },
    verify: async (args, ctx) => {
      const found = await refunds.countDocuments({ _id: ctx.idempotencyKey }, { signal: ctx.signal });
      return found > 0
        ? { status: 'applied', output: { refundId: ctx.idempotencyKey, amountUsd: args.amountUsd } }
        : { status: 'not_applied' };
    },
  });
}
