import { canonicalHashOfParsed, canonicalJson, sha256Hex } from './canonical.js';
import { fetchVerified, type BlobStore } from './claim-check.js';
import type { EventDraft } from './chain.js';
import { eventSchemas, isBlobRef, type WardenEvent, type WireEnvelope } from './envelope.js';
import { EventValidationError, MalformedEventError, UnknownEventTypeError } from './errors.js';
import { eventTypes, isEventType, type EventType } from './events.js';
import { eventJsonSchema } from './json-schema.js';
import { Redactor } from './redact.js';
import { RegistryClient, type SchemaRegistryApi } from './registry.js';
import { isExactEvent, issuesOf, validateWireEnvelope } from './validate.js';
import type { SigningKey } from './event-signature.js';
import { producerSignatureOf } from './producer-signature.js';

/** Default size above which an event's data goes to the blob store: 256 KiB of canonical JSON. */
export const DEFAULT_CLAIM_CHECK_THRESHOLD_BYTES = 256 * 1024;

/** Options of an EventCodec. */
export interface EventCodecOptions {
  /** The registry (`createRegistryClient(url)`, or an in-memory one in tests), or the Confluent API root's URL. */
  readonly registry: SchemaRegistryApi | string;
  /** Where large payloads go; without it an oversize event is refused. */
  readonly blobs?: BlobStore;
  /** Canonical data size above which data is claim-checked. */
  readonly claimCheckThresholdBytes?: number;
  /** Redacts secrets before encoding. A default Redactor when absent. */
  readonly redactor?: Redactor;
  /** Subject name prefix: subject = prefix + event type. Default "warden.". */
  readonly subjectPrefix?: string;
  /**
   * The producer's Ed25519 key: each encoded event is signed over its hash (`producerSignature`, sent in the
   * PRODUCER_SIGNATURE_HEADER), so that a verifier can tell it from an event forged into a topic (ADR 0018).
   */
  readonly producerKey?: SigningKey;
}

/** An encoded event: the bytes for Kafka, the wire envelope and its hash. */
export interface EncodedEvent {
  readonly bytes: Buffer;
  readonly envelope: WireEnvelope;
  readonly hash: string;
  /** Secrets replaced before encoding. */
  readonly redactions: number;
  /** The producer's signature over `hash` (`keyId:base64`), when the codec has a producer key. */
  readonly producerSignature?: string;
}

/** A decoded event: typed and resolved, with the wire envelope it came as and that envelope's hash. */
export interface DecodedEvent {
  readonly event: WardenEvent;
  readonly envelope: WireEnvelope;
  readonly hash: string;
  readonly schemaId: number;
}

/**
 * Every produce and consume goes through this codec: it redacts secrets, validates with zod, claim-checks large
 * data, frames the JSON in the registry wire format (magic byte, schema id) with the type's registered schema,
 * and on the way back checks the frame, the schema, zod and the claim-check. Every failure is a typed WardenError.
 */
export class EventCodec {
  private readonly registry: SchemaRegistryApi;
  private readonly blobs: BlobStore | undefined;
  private readonly thresholdBytes: number;
  private readonly redactor: Redactor;
  private readonly subjectPrefix: string;
  private readonly producerKey: SigningKey | undefined;
  private readonly ids = new Map<EventType, number>();

  constructor(options: EventCodecOptions) {
    this.registry = typeof options.registry === 'string' ? new RegistryClient(options.registry) : options.registry;
    this.blobs = options.blobs;
    this.thresholdBytes = options.claimCheckThresholdBytes ?? DEFAULT_CLAIM_CHECK_THRESHOLD_BYTES;
    this.redactor = options.redactor ?? new Redactor();
    this.subjectPrefix = options.subjectPrefix ?? 'warden.';
    this.producerKey = options.producerKey;
  }

  /**
   * The value with every secret the codec would redact on encode already replaced (the same patterns, keys and
   * literals). A worker hashes and keeps what goes on the wire: a hash of the unredacted value would bind nothing
   * that a reader can check, and a copy of it would keep the secret at rest.
   */
  redact<T>(value: T): T {
    return this.redactor.redact(value).value;
  }

  /** The registry subject of an event type. */
  subjectOf(type: EventType): string {
    return `${this.subjectPrefix}${type}`;
  }

  /** Registers every event type's schema (BACKWARD compatibility) and caches the ids. Idempotent. */
  async registerAll(): Promise<void> {
    for (const type of eventTypes) await this.schemaIdOf(type);
  }

  /** The registry id of an event type's current schema, registering it on first use. */
  async schemaIdOf(type: EventType): Promise<number> {
    const cached = this.ids.get(type);
    if (cached !== undefined) return cached;
    const id = await this.registry.register(this.subjectOf(type), eventJsonSchema(type));
    this.ids.set(type, id);
    return id;
  }

  /**
   * Checks that a schema id is in the registry and was registered for this event type (cached): an event framed
   * with another type's schema id is refused, so a frame's id and its body cannot disagree. The body is then
   * validated with zod, against the same schema the registered JSON Schema is generated from.
   */
  private async checkSchemaId(schemaId: number, type: EventType): Promise<void> {
    const registered = await this.registry.eventTypeOf(schemaId);
    if (registered === undefined) {
      throw new UnknownEventTypeError(`schema id ${schemaId} is not in the registry`, { details: { schemaId } });
    }
    if (registered !== type) {
      throw new MalformedEventError(
        `a ${type} event is framed with schema id ${schemaId}, which is registered for ${registered ?? 'no Warden event type'}`,
        { details: { schemaId, type, registeredType: registered } },
      );
    }
  }

  /**
   * Redacts, validates, claim-checks and frames one event. The JSON on the wire is the event's canonical form
   * (RFC 8785), so the bytes and the hash come from one serialisation, and a reader can hash the bytes it got.
   */
  async encode(draft: EventDraft): Promise<EncodedEvent> {
    if (!isEventType(draft.type)) throw new UnknownEventTypeError(`unknown event type ${String(draft.type)}`);
    const redacted = this.redactor.redact(draft);
    const envelope = this.validated(draft.type, redacted.value);
    let wire: WireEnvelope = envelope;
    let json = canonicalJson(envelope);
    // The whole event under the threshold means its data is too; only a larger one needs its data measured.
    const data = Buffer.byteLength(json) > this.thresholdBytes ? Buffer.from(canonicalJson(envelope.data)) : undefined;
    if (data !== undefined && data.length > this.thresholdBytes) {
      if (this.blobs === undefined) {
        throw new EventValidationError(`invalid ${draft.type} event`, [
          { path: 'data', message: `data exceeds ${this.thresholdBytes} bytes and no blob store is configured` },
        ]);
      }
      const pointer = await this.blobs.put(data, 'application/json');
      wire = { ...envelope, data: { $claimCheck: pointer } };
      json = canonicalJson(wire);
    }
    const schemaId = await this.schemaIdOf(draft.type);
    // The registry wire format: magic byte 0, the 4-byte schema id, then the JSON. The event has just been validated
    // against the schema the registered JSON Schema is generated from, so the registry client's own (Ajv) check is
    // not run again; decode checks the schema id and validates again.
    const size = Buffer.byteLength(json);
    const bytes = Buffer.allocUnsafe(5 + size);
    bytes[0] = 0;
    bytes.writeInt32BE(schemaId, 1);
    bytes.write(json, 5, 'utf8');
    const hash = sha256Hex(json);
    if (this.producerKey === undefined) return { bytes, envelope: wire, hash, redactions: redacted.count };
    const producerSignature = producerSignatureOf(hash, this.producerKey);
    return { bytes, envelope: wire, hash, redactions: redacted.count, producerSignature };
  }

  /** The event in zod's output form: the value itself when the compiled check accepts it, else zod's parse. */
  private validated(type: EventType, value: unknown): WireEnvelope {
    if (isExactEvent(type, value)) return value as WireEnvelope;
    const parsed = eventSchemas[type].safeParse(value);
    if (!parsed.success) {
      throw new EventValidationError(`invalid ${type} event`, issuesOf(parsed.error), {
        details: { type, eventId: (value as { id?: unknown }).id },
      });
    }
    return parsed.data as WireEnvelope;
  }

  /** Checks the frame and the schemas, resolves a claim-check, and returns the typed event and its hash. */
  async decode(bytes: Buffer | null): Promise<DecodedEvent> {
    if (bytes === null || bytes.length < 6 || bytes[0] !== 0) {
      throw new MalformedEventError('message is not in the schema registry wire format (magic byte 0, 4-byte id)', {
        details: { length: bytes?.length ?? 0 },
      });
    }
    const schemaId = bytes.readInt32BE(1);
    const text = bytes.toString('utf8', 5);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new MalformedEventError(`event body is not JSON: ${(error as Error).message}`, {
        cause: error,
        details: { schemaId },
      });
    }
    const envelope = validateWireEnvelope(raw);
    const type = envelope.type as EventType;
    await this.checkSchemaId(schemaId, type);
    // Warden writes the canonical form, so the hash is usually the hash of the text itself (checked, not assumed).
    const hash = canonicalHashOfParsed(text, envelope);
    // Inline data was just validated against the type's own schema (validateWireEnvelope): that is the event.
    if (!isBlobRef(envelope.data)) return { event: envelope as WardenEvent, envelope, hash, schemaId };
    if (this.blobs === undefined) {
      throw new EventValidationError(`invalid ${type} event`, [
        { path: 'data', message: 'data is claim-checked but no blob store is configured' },
      ]);
    }
    const blob = await fetchVerified(this.blobs, envelope.data.$claimCheck);
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(blob).toString('utf8'));
    } catch (error) {
      throw new MalformedEventError(`claim-checked data of ${type} is not JSON`, { cause: error });
    }
    const parsed = eventSchemas[type].safeParse({ ...envelope, data });
    if (!parsed.success) {
      throw new EventValidationError(`invalid ${type} event`, issuesOf(parsed.error), { details: { schemaId } });
    }
    return { event: parsed.data as WardenEvent, envelope, hash, schemaId };
  }
}
