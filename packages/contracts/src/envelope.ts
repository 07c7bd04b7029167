import { z } from 'zod';
import { BlobRef, Identifier, Sha256Hex } from './common-schemas.js';
import { MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_PREV_HASHES } from './limits.js';
import { eventDataSchemas, type EventData, type EventType } from './events.js';

/** The envelope fields every event shares, whatever its type. */
const envelopeShape = {
  /** Unique event id (UUID). A redelivered event keeps its id. */
  id: z.uuid(),
  /** The event type, past tense. */
  type: z.string().min(1).max(MAX_LABEL_CHARS),
  /** The task this event belongs to; also the Kafka key. */
  taskId: Identifier,
  /** The tenant that owns the task. */
  tenantId: Identifier,
  /** Position in the task's chain: 0 for TaskSubmitted, then one more than the cause. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** sha256 of the canonical form of the event(s) that caused this one. Empty only at seq 0. */
  prevHashes: z.array(Sha256Hex).max(MAX_PREV_HASHES),
  /** Id of the event this one responds to; null for TaskSubmitted. */
  causationId: z.uuid().nullable(),
  /** Id shared by every event of one flow (the task id for task events). */
  correlationId: z.string().min(1).max(MAX_ID_CHARS),
  /** When the producer created the event (ISO 8601, UTC). */
  occurredAt: z.iso.datetime(),
  /** The worker that produced it, e.g. "planner@1.0.0". */
  producer: z.string().min(1).max(MAX_ID_CHARS),
  /** The guard policy version in force when it was produced. */
  policyVersion: z.string().min(1).max(MAX_ID_CHARS),
};

/** The envelope with untyped data: what every event has in common. */
export const Envelope = z.object({ ...envelopeShape, data: z.unknown() }).strict();
/** The envelope with untyped data. */
export type Envelope = z.infer<typeof Envelope>;

/** An event of type T with its data resolved (claim-checks fetched). */
export type EventOf<T extends EventType> = Omit<Envelope, 'type' | 'data'> & { type: T; data: EventData<T> };

/** Any Warden event, with its data resolved: a union discriminated by `type`. */
export type WardenEvent = { [T in EventType]: EventOf<T> }[EventType];

/** An event as it travels on Kafka: data is either inline or a claim-check reference. */
export type WireEnvelope = Omit<Envelope, 'data'> & { data: unknown };

type EnvelopeSchemaOf<T extends EventType> = z.ZodObject<
  typeof envelopeShape & { type: z.ZodLiteral<T>; data: (typeof eventDataSchemas)[T] }
>;

function buildSchemas(): {
  resolved: { [T in EventType]: EnvelopeSchemaOf<T> };
  wire: { [T in EventType]: z.ZodType };
} {
  const resolved: Record<string, z.ZodType> = {};
  const wire: Record<string, z.ZodType> = {};
  for (const [type, data] of Object.entries(eventDataSchemas)) {
    resolved[type] = z.object({ ...envelopeShape, type: z.literal(type), data }).strict();
    wire[type] = z.object({ ...envelopeShape, type: z.literal(type), data: z.union([BlobRef, data]) }).strict();
  }
  return { resolved, wire } as never;
}

const schemas = buildSchemas();

/** The zod schema of each event type's envelope, data inline. */
export const eventSchemas = schemas.resolved;

/** The zod schema of each event type's envelope as it travels on the wire (data inline or a claim-check). */
export const wireEventSchemas = schemas.wire;

/** True when the data of a wire envelope is a claim-check reference. */
export function isBlobRef(data: unknown): data is BlobRef {
  // Checked on every event: most data is not a reference, which the key alone tells.
  if (typeof data !== 'object' || data === null || !Object.hasOwn(data, '$claimCheck')) return false;
  return BlobRef.safeParse(data).success;
}
