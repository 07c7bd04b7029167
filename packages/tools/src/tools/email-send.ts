import { defineRunnableTool } from '../runnable.js';
import { emailSend } from '../demo-tools.js';
import type { Db } from 'mongodb';
import { isDuplicateKey } from '../stores/mongo-errors.js';

/** A message in the outbox: `_id` is the effect key, so one effect sends one message. */
export interface OutboxMessage {
  _id: string;
  to: string[];
  cc: string[];
  subject: string;
  body: string;
  recipients: number;
  sentAt: Date;
}

const recipientsOf = (args: { to: string[]; cc?: string[] | undefined }): string[] => [
  ...new Set([...args.to, ...(args.cc ?? [])].map((a) => a.toLowerCase())),
];

/** email.send: "sends" by recording the message in an outbox collection (a relay would deliver it). */
export function emailSendTool(db: Db, collection = 'outbox_emails') {
  const outbox = db.collection<OutboxMessage>(collection);
  return defineRunnableTool({
    spec: emailSend,
    riskTier: 'high',
    estimateImpact: (args) =>
      Promise.resolve({ rows: 0, files: 0, recipients: recipientsOf(args).length, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const accepted = recipientsOf(args);
      ctx.signal.throwIfAborted();
      try {
        await outbox.insertOne({
          _id: ctx.idempotencyKey,
          to: args.to,
          cc: args.cc ?? [],
          subject: args.subject,
          body: args.body,
          recipients: accepted.length,
          sentAt: new Date(),
        });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error; // sent already under this key: the same message, once
      }
      return { messageId: ctx.idempotencyKey, accepted };
    },
    verify: async (args, ctx) => {
      const found = await outbox.countDocuments({ _id: ctx.idempotencyKey }, { signal: ctx.signal });
      return found > 0
        ? { status: 'applied', output: { messageId: ctx.idempotencyKey, accepted: recipientsOf(args) } }
        : { status: 'not_applied' };
    },
  });
}
