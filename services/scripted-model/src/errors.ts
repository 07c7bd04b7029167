/**
 * Typed errors of the scripted model. Every error carries a stable `code` (prefix WARDEN_SCRIPTED_MODEL_), a
 * `retryable` flag and an optional `cause`. The service depends on no other Warden package (it stands in for an
 * external endpoint), so it has its own small base class; it carries the same `Symbol.for('warden.error')` brand as
 * `WardenError` in @warden/contracts, so `isWardenError()` recognises these errors too.
 */

/** Options shared by every scripted-model error. */
export interface ScriptedModelErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** Structured facts for logs. */
  readonly details?: Readonly<Record<string, unknown>>;
}

const WARDEN_ERROR = Symbol.for('warden.error');

/** Base class of every scripted-model error. */
export abstract class ScriptedModelError extends Error {
  /** Stable machine-readable code, e.g. WARDEN_SCRIPTED_MODEL_SCENARIO. */
  abstract readonly code: string;
  /** True when retrying the same input may succeed. */
  abstract readonly retryable: boolean;
  /** Structured facts for logs. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: ScriptedModelErrorOptions = {}) {
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

/** Configuration is missing or invalid. Terminal: the service refuses to start. */
export class ConfigError extends ScriptedModelError {
  readonly code = 'WARDEN_SCRIPTED_MODEL_CONFIG';
  readonly retryable = false;
}

/** A scenario file cannot be read, is not JSON, or does not match the scenario schema. Terminal. */
export class ScenarioError extends ScriptedModelError {
  readonly code = 'WARDEN_SCRIPTED_MODEL_SCENARIO';
  readonly retryable = false;
}

/** A lifecycle call came in the wrong state (listen twice, listen after close, url before listen). */
export class LifecycleError extends ScriptedModelError {
  readonly code = 'WARDEN_SCRIPTED_MODEL_LIFECYCLE';
  readonly retryable = false;
}
