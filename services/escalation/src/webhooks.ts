import { createHmac, timingSafeEqual } from 'node:crypto';
import { createIndexesOnce, insertNewDocuments } from '@warden/runtime';
import type { Collection, Db } from 'mongodb';
import type { Logger } from 'pino';

/** Webhook settings: where, signed with what, and how hard to retry. */
export interface WebhookSettings {
  readonly urls: readonly string[];
  /** HMAC-SHA256 key of the `x-warden-signature` header (shared with each receiver). */
  readonly secret: string;
  readonly maxAttempts: number;
  /** First retry after this; doubled each time. */
  readonly backoffBaseMs: number;
  readonly timeoutMs: number;
}

/** Headers of a delivery. */
export const WebhookHeaders = {
  delivery: 'x-warden-delivery',
  timestamp: 'x-warden-timestamp',
  signature: 'x-warden-signature',
} as const;

/** The signature of a delivery: `v1=` hex HMAC-SHA256 over `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * What a receiver checks: the signature matches (constant time) and the timestamp (ms since the epoch) is within
 * `toleranceMs` of `now`, so a captured delivery cannot be replayed later.
 */
export function verifyWebhook(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  now: Date,
  toleranceMs = 300_000,
): boolean {
  if (timestamp === undefined || signature === undefined || !/^\d{1,16}$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() - Number(timestamp)) > toleranceMs) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** One recorded attempt of a delivery. */
export interface DeliveryAttempt {
  readonly at: Date;
  readonly status: number | null;
  readonly error?: string;
}

/** A delivery as recorded: one per (event, url), whatever the redeliveries of the event. */
export interface DeliveryDoc {
  _id: string;
  url: string;
  kind: 'escalation' | 'alert';
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
}

/**
 * Delivers new escalations and alerts to webhooks: each (event, url) recorded once in MongoDB, then POSTed with a
 * timestamp and an HMAC signature, retried with exponential backoff, every attempt recorded. Deliveries run in the
 * background; pending ones (a crash mid-way) resume at start.
 */
export class Webhooks {
  private readonly docs: Collection<DeliveryDoc>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    db: Db,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
  ) {
    this.docs = db.collection<DeliveryDoc>('escalation_webhook_deliveries');
  }

  /** Records and starts the deliveries of one event (idempotent per event id). */
  async notify(kind: DeliveryDoc['kind'], eventId: string, payload: unknown): Promise<void> {
    if (this.settings.urls.length === 0) return;
    const body = JSON.stringify({ kind, eventId, payload });
    const docs: DeliveryDoc[] = this.settings.urls.map((url) => ({
      _id: `${eventId}|${url}`,
      url,
      kind,
      body,
      status: 'pending',
      attempts: [],
    }));
    const existing = await insertNewDocuments(this.docs, docs);
    for (const doc of docs) if (!existing.has(doc._id)) this.start(doc);
  }

  /** Resumes deliveries left pending (by a crash). */
  async resumePending(): Promise<void> {
    // the only query of this collection besides its _id (docs/mongodb-queries.md)
    await createIndexesOnce(this.docs, [{ key: { status: 1 }, name: 'status' }]).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not create the deliveries index'),
    );
    for (const doc of await this.docs.find({ status: 'pending' }).toArray()) this.start(doc);
  }

  /** Stops retrying and waits for deliveries in flight. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private start(doc: DeliveryDoc): void {
    const run = this.deliver(doc).catch((error: unknown) =>
      this.logger.error({ err: error, delivery: doc._id }, 'webhook delivery bookkeeping failed'),
    );
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async deliver(doc: DeliveryDoc): Promise<void> {
    const { maxAttempts, backoffBaseMs, timeoutMs, secret } = this.settings;
    for (let attempt = doc.attempts.length + 1; attempt <= maxAttempts; attempt++) {
      if (this.abort.signal.aborted) return;
      const timestamp = String(Date.now());
      let status: number | null = null;
      let error: string | undefined;
      try {
        const res = await fetch(doc.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WebhookHeaders.delivery]: doc._id,
            [WebhookHeaders.timestamp]: timestamp,
            [WebhookHeaders.signature]: webhookSignature(secret, timestamp, doc.body),
          },
          body: doc.body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeoutMs)]),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch (e) {
        error = (e as Error).message;
      }
      const ok = status !== null && status >= 200 && status < 300;
      const last = ok || attempt === maxAttempts;
      await this.docs.updateOne(
        { _id: doc._id },
        {
          $push: { attempts: { at: new Date(), status, ...(error === undefined ? {} : { error }) } },
          ...(last ? { $set: { status: ok ? 'delivered' : 'failed' } } : {}),
        },
      );
      if (ok) return;
      if (last) {
        this.logger.warn({ delivery: doc._id, status, error }, 'webhook delivery failed for good');
        return;
      }
      await sleep(backoffBaseMs * 2 ** (attempt - 1), this.abort.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
