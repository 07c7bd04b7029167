import { isDuplicateKeyError, noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { Email } from './fields.js';

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

const OUTBOX = 'outbox_emails';

const recipientsOf = (args: { to: string[]; cc?: string[] | undefined }): string[] => [
  ...new Set([...args.to, ...(args.cc ?? [])].map((a) => a.toLowerCase())),
];

/**
 * email.send: "sends" by recording the message in an outbox collection (a relay would deliver it). Its impact is the
 * number of distinct recipients.
 */
export const emailSend = defineDemoTool({
  name: 'email.send',
  description: 'Send an e-mail',
  destructive: true,
  riskTier: 'high',
  argsSchema: z
    .object({
      to: z.array(Email).min(1).max(100),
      cc: z.array(Email).max(100).optional(),
      subject: z.string().min(1).max(500),
      body: z.string().min(1).max(100_000),
    })
    .strict(),
  outputSchema: z.object({ messageId: z.string().min(1), accepted: z.array(z.string()) }),
  resources: { recipients: ['to.*', 'cc.*'] },
  outputTrust: 'trusted',
  criticalFields: ['to.*', 'cc.*'],
  compensation: {
    kind: 'irreversible',
    reason: 'a message sent cannot be unsent; a correction is a new message a person decides',
  },
  estimateImpact: (args) => Promise.resolve({ ...noImpact, recipients: recipientsOf(args).length }),
  run: async (args, deps, ctx) => {
    const accepted = recipientsOf(args);
    ctx.signal.throwIfAborted();
    try {
      await deps.db.collection<OutboxMessage>(OUTBOX).insertOne({
        _id: ctx.idempotencyKey,
        to: args.to,
        cc: args.cc ?? [],
        subject: args.subject,
        body: args.body,
        recipients: accepted.length,
        sentAt: new Date(),
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // sent already under this key: the same message, once
    }
    return { messageId: ctx.idempotencyKey, accepted };
  },
  verify: async (args, deps, ctx) => {
    const found = await deps.db
      .collection<OutboxMessage>(OUTBOX)
      .countDocuments({ _id: ctx.idempotencyKey }, { signal: ctx.signal });
    return found > 0
      ? { status: 'applied', output: { messageId: ctx.idempotencyKey, accepted: recipientsOf(args) } }
      : { status: 'not_applied' };
  },
});
