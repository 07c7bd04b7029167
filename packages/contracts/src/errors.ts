/**
 * Typed errors of the contracts package. Every error carries a stable `code` (prefix WARDEN_CONTRACTS_),
 * a `retryable` flag that decides between retry and the dead-letter queue, and an optional `cause`.
 */

/** Options shared by every Warden error. */
export interface WardenErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** Structured facts for logs and dead letters (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;
}

const WARDEN_ERROR = Symbol.for('warden.error');

/**
 * Base class of every Warden error. `code` is stable and machine readable; `retryable` says whether the same
 * input may succeed later (a broker hiccup) or never will (a malformed event).
 */
export abstract class WardenError extends Error {
  /** Stable machine-readable code, e.g. WARDEN_CONTRACTS_VALIDATION. */
  abstract readonly code: string;
  /** True when retrying the same input may succeed. */
  abstract readonly retryable: boolean;
  /** Structured facts for logs and dead letters. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: WardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
    Object.defineProperty(this, WARDEN_ERROR, { value: true });
  }

  /** JSON form for logs: name, code, retryable, message and details. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      retryable: this.retryable,
      message: this.message,
      details: this.details,
    };
  }
}

/** True for any WardenError, even across duplicate copies of this package. */
export function isWardenError(value: unknown): value is WardenError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WARDEN_ERROR] === true;
}

/** One problem found by validation: where, and what. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** An event or payload does not match its schema. Terminal: the same bytes will never become valid. */
export class EventValidationError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_VALIDATION';
  readonly retryable = false;
  /** Every issue found, with its path. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[], options: WardenErrorOptions = {}) {
    super(`${message}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, {
      ...options,
      details: { ...options.details, issues },
    });
    this.issues = issues;
  }
}

/** The event's type is not one Warden knows. Terminal. */
export class UnknownEventTypeError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_UNKNOWN_TYPE';
  readonly retryable = false;
}

/** The bytes are not a registry-framed JSON event (bad magic byte, truncated, not JSON). Terminal. */
export class MalformedEventError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_MALFORMED';
  readonly retryable = false;
}

/** The schema registry refused a schema as incompatible with the subject's earlier versions. Terminal. */
export class SchemaIncompatibleError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_SCHEMA_INCOMPATIBLE';
  readonly retryable = false;
}

/** The schema registry could not be reached or answered with a server error. Retryable. */
export class RegistryUnavailableError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_REGISTRY_UNAVAILABLE';
  readonly retryable = true;
}

/** A claim-checked blob is absent from the blob store. Retryable: it may not be visible yet. */
export class BlobMissingError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_BLOB_MISSING';
  readonly retryable = true;
}

/** A claim-checked blob's content does not match its sha256 or size. Terminal. */
export class BlobCorruptError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_BLOB_CORRUPT';
  readonly retryable = false;
}

/** A value cannot be put in canonical JSON (NaN, Infinity, a lone surrogate, a cycle). Terminal. */
export class CanonicalFormError extends WardenError {
  readonly code = 'WARDEN_CONTRACTS_CANONICAL_FORM';
  readonly retryable = false;
}

/** Every contracts error code. */
export const ContractsErrorCodes = {
  validation: 'WARDEN_CONTRACTS_VALIDATION',
  unknownType: 'WARDEN_CONTRACTS_UNKNOWN_TYPE',
  malformed: 'WARDEN_CONTRACTS_MALFORMED',
  schemaIncompatible: 'WARDEN_CONTRACTS_SCHEMA_INCOMPATIBLE',
  registryUnavailable: 'WARDEN_CONTRACTS_REGISTRY_UNAVAILABLE',
  blobMissing: 'WARDEN_CONTRACTS_BLOB_MISSING',
  blobCorrupt: 'WARDEN_CONTRACTS_BLOB_CORRUPT',
  canonicalForm: 'WARDEN_CONTRACTS_CANONICAL_FORM',
} as const;
