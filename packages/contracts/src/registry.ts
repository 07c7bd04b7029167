import { setTimeout as pause } from 'node:timers/promises';
import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import {
  MalformedEventError,
  RegistryUnavailableError,
  SchemaIncompatibleError,
  isWardenError,
  type WardenError,
} from './errors.js';
import type { JsonSchemaDocument } from './json-schema.js';

/** Compatibility levels that include BACKWARD: a subject set to one of these needs no change. */
const BACKWARD_OR_STRICTER: ReadonlySet<string> = new Set([
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
]);

/** How often a registration is tried when the registry answers a conflict or is briefly unavailable. */
const REGISTER_ATTEMPTS = 4;
/** The first pause between registration attempts; it doubles each time. */
const REGISTER_BACKOFF_MS = 100;

/** How a 409 that means an incompatible schema reads (Confluent: "incompatible"; Apicurio: RuleViolationException). */
const INCOMPATIBLE = /incompatib|RuleViolation/i;

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * The longest one registry request may take. Without it a registry that hangs holds a decode (and the worker's
 * partition, which then sends no heartbeats) for fetch's own limit of minutes; past it the request fails as
 * RegistryUnavailableError, an outage the worker waits out (ADR 0021).
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

function isNetworkError(error: unknown): boolean {
  const e = error as { code?: unknown; status?: unknown; cause?: { code?: unknown } };
  if (typeof e.status === 'number') return e.status >= 500;
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EPIPE|UND_ERR_\w+)$/.test(code);
}

/** A registry failure as a typed error: unavailable (retryable) or a refusal (terminal). */
export function registryFailure(action: string, error: unknown): WardenError {
  if (isWardenError(error)) return error;
  const message = (error as Error).message ?? String(error);
  if (isNetworkError(error) || /ECONNREFUSED|ECONNRESET|socket hang up|timeout|fetch failed/i.test(message)) {
    return new RegistryUnavailableError(`schema registry unavailable while ${action}: ${message}`, { cause: error });
  }
  return new MalformedEventError(`schema registry refused ${action}: ${message}`, { cause: error });
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** What the codec needs of a schema registry: registering a subject's schema, and the event type of an id. */
export interface SchemaRegistryApi {
  /** Registers a JSON Schema under a subject (BACKWARD compatible) and returns its id; idempotent. */
  register(subject: string, schema: JsonSchemaDocument): Promise<number>;
  /** The event type a schema id was registered for; null for a schema of no Warden type; undefined if unknown. */
  eventTypeOf(schemaId: number): Promise<string | null | undefined>;
}

/**
 * Warden's client of a Confluent-API schema registry (Confluent Schema Registry, Apicurio's ccompat API), over its
 * REST API: registration that is idempotent and safe when several workers start at once on a fresh registry (the
 * kafkajs registry client checks a subject's compatibility, registers, then sets it, and racing first starts fail
 * on "BACKWARD != NONE"), and the event type a schema id was registered for (cached), which binds a frame's
 * schema id to the event it carries. ADR 0013.
 */
export class RegistryClient implements SchemaRegistryApi {
  private readonly typeOfId = new Map<number, string | null>();

  /** @param url the Confluent API root, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  constructor(readonly url: string) {}

  private async request(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.url.replace(/\/+$/, '')}${path}`, {
      method,
      signal: AbortSignal.timeout(REGISTRY_REQUEST_TIMEOUT_MS),
      headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpStatusError(response.status, text);
    return text === '' ? null : (JSON.parse(text) as unknown);
  }

  /**
   * Makes a subject BACKWARD compatible before anything is registered under it. A subject that does not exist yet,
   * or that another worker's first registration left at NONE, is set to BACKWARD (Warden's subjects are
   * Warden's); one already at BACKWARD or stricter is left alone; any other level is refused.
   */
  private async ensureBackward(subject: string): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    let level: string | undefined;
    try {
      const config = (await this.request('GET', path)) as { compatibilityLevel?: unknown; compatibility?: unknown };
      const value = config.compatibilityLevel ?? config.compatibility;
      level = typeof value === 'string' ? value.toUpperCase() : undefined;
    } catch (error) {
      if (!(error instanceof HttpStatusError && error.status === 404)) throw error;
    }
    if (level !== undefined && BACKWARD_OR_STRICTER.has(level)) return;
    if (level !== undefined && level !== 'NONE') {
      throw new SchemaIncompatibleError(
        `subject ${subject} has compatibility ${level}; Warden's subjects must be ${COMPATIBILITY.BACKWARD} or stricter`,
        { details: { subject, compatibility: level } },
      );
    }
    await this.request('PUT', path, { compatibility: COMPATIBILITY.BACKWARD });
  }

  /**
   * Registers a JSON Schema under a subject with BACKWARD compatibility and returns its id. Idempotent (the same
   * schema gets the same id) and safe under concurrency: a conflict or a brief outage is retried with backoff.
   * An incompatible schema is refused with SchemaIncompatibleError naming the subject.
   */
  async register(subject: string, schema: JsonSchemaDocument): Promise<number> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= REGISTER_ATTEMPTS; attempt++) {
      try {
        await this.ensureBackward(subject);
        const result = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
          schemaType: SchemaType.JSON,
          schema: JSON.stringify(schema),
        })) as { id?: unknown };
        if (typeof result.id !== 'number') throw new Error(`registration answered without an id`);
        const type = typeConstOf(schema);
        this.typeOfId.set(result.id, type);
        return result.id;
      } catch (error) {
        if (isWardenError(error)) throw error;
        lastError = error;
        // 409 is both "incompatible" (final) and, on Apicurio, a conflict between racing first registrations.
        const conflict = error instanceof HttpStatusError && error.status === 409 && !INCOMPATIBLE.test(error.message);
        if (!conflict && !isNetworkError(error) && !(error instanceof TypeError)) break;
        if (attempt < REGISTER_ATTEMPTS) await pause(REGISTER_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
    if (lastError instanceof HttpStatusError && lastError.status === 409) {
      throw new SchemaIncompatibleError(
        `schema for subject ${subject} is not BACKWARD compatible with its registered versions: ${lastError.message}`,
        { cause: lastError, details: { subject } },
      );
    }
    throw registryFailure(`registering ${subject}`, lastError);
  }

  /**
   * The event type a schema id was registered for (the `type` constant of its JSON Schema): null for a schema that
   * names no single type, undefined for an id the registry does not have. Lookups are cached.
   */
  async eventTypeOf(schemaId: number): Promise<string | null | undefined> {
    if (this.typeOfId.has(schemaId)) return this.typeOfId.get(schemaId);
    let found: { schema?: unknown };
    try {
      found = (await this.request('GET', `/schemas/ids/${schemaId}`)) as { schema?: unknown };
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 404) return undefined;
      throw registryFailure(`looking up schema id ${schemaId}`, error);
    }
    let type: string | null = null;
    try {
      type = typeof found.schema === 'string' ? typeConstOf(JSON.parse(found.schema) as JsonSchemaDocument) : null;
    } catch {
      type = null; // not JSON: a schema of some other producer, which names no Warden type
    }
    this.typeOfId.set(schemaId, type);
    return type;
  }
}

/** The `type` constant of an event's JSON Schema (properties.type.const), or null. */
export function typeConstOf(schema: JsonSchemaDocument): string | null {
  const properties = (schema as { properties?: { type?: { const?: unknown } } }).properties;
  const value = properties?.type?.const;
  return typeof value === 'string' ? value : null;
}

/** A registry client for Warden's JSON Schemas at a Confluent API root. */
export function createRegistryClient(url: string): RegistryClient {
  return new RegistryClient(url);
}
