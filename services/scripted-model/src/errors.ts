/**
 * Typed errors of the scripted model. Every error carries a stable `code` (prefix WARDEN_SCRIPTED_MODEL_), a
 * `retryable` flag and an optional `cause`, on the shared WardenError base.
 */
import { WardenError, type WardenErrorOptions } from '@warden/contracts';

/** Options shared by every scripted-model error. */
export type ScriptedModelErrorOptions = WardenErrorOptions;

/** Base class of every scripted-model error. */
export abstract class ScriptedModelError extends WardenError {}

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
