import { WardenError, type WardenErrorOptions } from '@warden/contracts';

/** A handler failed in a way that may pass on a later attempt (a timeout, a busy dependency). */
export class RetryableHandlerError extends WardenError {
  readonly code: string;
  readonly retryable = true;
  constructor(message: string, options: WardenErrorOptions & { code?: string } = {}) {
    super(message, options);
    this.code = options.code ?? 'WARDEN_RUNTIME_HANDLER_RETRYABLE';
  }
}

/** A handler failed in a way that will never pass for this event: it goes to the DLQ at once. */
export class TerminalHandlerError extends WardenError {
  readonly code: string;
  readonly retryable = false;
  constructor(message: string, options: WardenErrorOptions & { code?: string } = {}) {
    super(message, options);
    this.code = options.code ?? 'WARDEN_RUNTIME_HANDLER_TERMINAL';
  }
}

/** A produce to Kafka failed (its transaction aborted). Retryable: the chunk is handled and sent again. */
export class PublishError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_PUBLISH';
  readonly retryable = true;
}

/**
 * An event reused the id of another event with other content (another hash). Terminal: it is not a duplicate to
 * skip, and acting on it would let one event stand for another; it goes to the DLQ with an alert.
 */
export class EventIdConflictError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_EVENT_ID_CONFLICT';
  readonly retryable = false;
}

/**
 * A second TaskSubmitted for a task id already known (another event, other content or another tenant). A task's
 * definition is immutable: terminal, it goes to the DLQ with an alert, and the task keeps its first definition.
 */
export class TaskConflictError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_TASK_CONFLICT';
  readonly retryable = false;
}

/**
 * A dependency (Kafka, the schema registry, MongoDB) is unavailable: the event is fine. Never dead-lettered: the
 * partition waits for the dependency with capped backoff and the event is handled again (ADR 0021).
 */
export class InfrastructureError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_INFRASTRUCTURE';
  readonly retryable = true;
  constructor(
    /** The dependency that is unavailable. */
    readonly dependency: 'kafka' | 'registry' | 'mongo',
    message: string,
    options: WardenErrorOptions = {},
  ) {
    super(message, { ...options, details: { dependency, ...options.details } });
  }
}

/** Configuration is missing or invalid. Terminal: the worker refuses to start. */
export class ConfigError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_CONFIG';
  readonly retryable = false;
}

/** A lifecycle call came in the wrong state (start twice, start after close). */
export class LifecycleError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_LIFECYCLE';
  readonly retryable = false;
}

/**
 * Draining did not finish within the grace period; the worker was stopped by force. The reason of the worker's
 * abort signal, so a handler (or a tool call) cut short sees it. Retryable: the work was interrupted, not wrong, and
 * what was left uncommitted is handled again by the partition's next owner.
 */
export class ShutdownTimeoutError extends WardenError {
  readonly code = 'WARDEN_RUNTIME_SHUTDOWN_TIMEOUT';
  readonly retryable = true;
}

/** The code an unknown (non-Warden) handler error gets; such errors are treated as retryable. */
export const UNCLASSIFIED_ERROR_CODE = 'WARDEN_RUNTIME_UNCLASSIFIED';
