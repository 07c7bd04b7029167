import { WardenError } from '@warden/contracts';
import { ToolCallError, ToolErrorCodes, ToolRefusedError } from '@warden/tools';

/** The tools' own errors (refused, failed) live with the tools in @warden/tools; the executor classifies them. */
export { ToolCallError, ToolRefusedError };

/** Stable codes of the executor's errors. */
export const ExecutorErrorCodes = {
  toolTimeout: 'WARDEN_EXECUTOR_TOOL_TIMEOUT',
  toolRefused: ToolErrorCodes.toolRefused,
  toolFailed: ToolErrorCodes.toolFailed,
  invalidOutput: 'WARDEN_EXECUTOR_INVALID_OUTPUT',
  ledgerUnavailable: 'WARDEN_EXECUTOR_LEDGER_UNAVAILABLE',
  ledgerConflict: 'WARDEN_EXECUTOR_LEDGER_CONFLICT',
} as const;

/** The tool did not answer within its timeout; its call was aborted through its AbortSignal. */
export class ToolTimeoutError extends WardenError {
  readonly code = ExecutorErrorCodes.toolTimeout;
  readonly retryable = true;
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
