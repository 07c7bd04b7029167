import { context, type Context } from '@opentelemetry/api';
import { PRODUCER_SIGNATURE_HEADER, type EncodedEvent, type EventCodec, type EventDraft } from '@warden/contracts';
import { CompressionTypes, type Producer, type Transaction } from 'kafkajs';
import { PublishError } from './errors.js';
import { injectTraceHeaders } from './telemetry.js';
import type { Topics } from './topics.js';

/** One message to produce: where, keyed how, the bytes and headers. */
export interface OutgoingMessage {
  readonly topic: string;
  readonly key: string;
  /** null: a tombstone (a state changelog's deleted key). */
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** An explicit partition (a state changelog's record goes to its store's partition); default: by key. */
  readonly partition?: number;
}

/** Header names Warden writes on every message. */
export const WardenHeaders = {
  eventType: 'warden-event-type',
  eventId: 'warden-event-id',
  taskId: 'warden-task-id',
  tenantId: 'warden-tenant-id',
  producer: 'warden-producer',
  contentType: 'content-type',
  /** The producer's Ed25519 signature over the event's hash (ADR 0018). */
  signature: PRODUCER_SIGNATURE_HEADER,
} as const;

/** The content type of Warden's registry-framed JSON events. */
export const EVENT_CONTENT_TYPE = 'application/vnd.warden.event+json; framing=confluent';

/** The Kafka message of an encoded event: keyed by taskId, metadata and trace context in headers. */
export function toOutgoing(
  encoded: EncodedEvent,
  topics: Topics,
  traceContext: Context = context.active(),
): OutgoingMessage {
  const env = encoded.envelope;
  const headers: Record<string, string> = {
    [WardenHeaders.eventType]: env.type,
    [WardenHeaders.eventId]: env.id,
    [WardenHeaders.taskId]: env.taskId,
    [WardenHeaders.tenantId]: env.tenantId,
    [WardenHeaders.producer]: env.producer,
    [WardenHeaders.contentType]: EVENT_CONTENT_TYPE,
  };
  if (encoded.producerSignature !== undefined) headers[WardenHeaders.signature] = encoded.producerSignature;
  injectTraceHeaders(traceContext, headers);
  return {
    topic: topics.forType(env.type as Parameters<Topics['forType']>[0]),
    key: env.taskId,
    value: encoded.bytes,
    headers,
  };
}

/** Producer settings Warden always uses: idempotent, acks=all, one request in flight (kafkajs's rule for idempotence). */
export const producerConfig = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false } as const;

/**
 * The most record bytes sent in one produce request. A broker refuses a record batch larger than its
 * message.max.bytes (1 MiB by default), and kafkajs sends all of a request's messages for one partition as one batch,
 * so a chunk's outputs go out in requests under this bound.
 */
export const MAX_REQUEST_BYTES = 900 * 1024;

/** A record's bytes on the wire, over-estimated: value, key, headers and the record's own framing. */
function recordBytes(m: OutgoingMessage): number {
  let size = (m.value?.length ?? 0) + Buffer.byteLength(m.key) + 24;
  for (const name in m.headers) size += Buffer.byteLength(name) + Buffer.byteLength(m.headers[name]!) + 10;
  return size;
}

/** Splits messages, in order, into runs of at most `maxBytes` record bytes each (a larger message goes alone). */
export function requestsOf(messages: readonly OutgoingMessage[], maxBytes = MAX_REQUEST_BYTES): OutgoingMessage[][] {
  const requests: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = recordBytes(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * Sends messages with acks=all (on a producer or inside a transaction), in requests of at most MAX_REQUEST_BYTES,
 * one after another so that order per key holds. A failure surfaces as PublishError. Inside a transaction nothing
 * of a failed send counts; outside one, the requests before the failed one stay published, and since a retried
 * event keeps its id, consumers recognise them when the caller sends them again.
 */
export async function sendAll(
  producer: Pick<Producer | Transaction, 'sendBatch'>,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  for (const request of requestsOf(messages)) await sendRequest(producer, request, messages.length);
}

async function sendRequest(
  producer: Pick<Producer | Transaction, 'sendBatch'>,
  messages: readonly OutgoingMessage[],
  total: number,
): Promise<void> {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const m of messages) {
    const list = byTopic.get(m.topic);
    if (list === undefined) byTopic.set(m.topic, [m]);
    else list.push(m);
  }
  try {
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, ms]) => ({
        topic,
        // kafkajs only reads the headers: passed as they are, not copied per message.
        messages: ms.map((m) =>
          m.partition === undefined
            ? { key: m.key, value: m.value, headers: m.headers }
            : { key: m.key, value: m.value, headers: m.headers, partition: m.partition },
        ),
      })),
    });
  } catch (error) {
    const of = total === messages.length ? '' : ` (of ${total})`;
    throw new PublishError(`failed to publish ${messages.length} message(s)${of}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Publishes events that are not a handler's response (a new task, an operator's action): encodes each draft
 * through the codec and sends it. Returns the encoded events (with their hashes, to chain follow-ups).
 */
export class Publisher {
  constructor(
    private readonly producer: Producer,
    private readonly codec: EventCodec,
    private readonly topics: Topics,
  ) {}

  async publish(...drafts: EventDraft[]): Promise<EncodedEvent[]> {
    const encoded: EncodedEvent[] = [];
    for (const d of drafts) encoded.push(await this.codec.encode(d));
    await sendAll(
      this.producer,
      encoded.map((e) => toOutgoing(e, this.topics)),
    );
    return encoded;
  }
}
