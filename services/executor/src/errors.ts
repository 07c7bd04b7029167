import { WardenError, type WardenErrorOptions } from '@warden/contracts';

/** Stable codes of the executor's errors. */
export const ExecutorErrorCodes = {
  toolTimeout: 'WARDEN_EXECUTOR_TOOL_TIMEOUT',
  toolRefused: 'WARDEN_EXECUTOR_TOOL_REFUSED',
  toolFailed: 'WARDEN_EXECUTOR_TOOL_FAILED',
  invalidOutput: 'WARDEN_EXECUTOR_INVALID_OUTPUT',
  ledgerUnavailable: 'WARDEN_EXECUTOR_LEDGER_UNAVAILABLE',
  ledgerConflict: 'WARDEN_EXECUTOR_LEDGER_CONFLICT',
} as const;

/** The tool did not answer within its timeout; its call was aborted through its AbortSignal. */
export class ToolTimeoutError extends WardenError {
  readonly code = ExecutorErrorCodes.toolTimeout;
  readonly retryable = true;
}

/**
 * The tool refused the call before touching anything: a path outside the workspace, a host outside the allowlist,
 * a collection it may not use. Terminal, and not a sign of the tool's ill health (breakers do not count it).
 */
export class ToolRefusedError extends WardenError {
  readonly code = ExecutorErrorCodes.toolRefused;
  readonly retryable = false;
}

/** The tool's own failure (its store is down, the remote answered an error). */
export class ToolCallError extends WardenError {
  readonly code = ExecutorErrorCodes.toolFailed;
  readonly retryable: boolean;
  constructor(message: string, options: WardenErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? true;
  }
}

/** The tool's output does not match its output schema: the call counts as failed and nothing reaches the model. */
export class InvalidToolOutputError extends WardenError {
  readonly code = ExecutorErrorCodes.invalidOutput;
  readonly retryable = false;
}

/** The effect ledger could not be read or written. Retryable: the runtime retries the approval. */
export class LedgerUnavailableError extends WardenError {
  readonly code = ExecutorErrorCodes.ledgerUnavailable;
  readonly retryable = true;
}

/** Another executor holds a dispatch of this effect whose lease has not expired yet. Retryable. */
export class LedgerConflictError extends WardenError {
  readonly code = ExecutorErrorCodes.ledgerConflict;
  readonly retryable = true;
}
