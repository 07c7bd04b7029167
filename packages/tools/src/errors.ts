import { WardenError, type WardenErrorOptions } from '@warden/contracts';

/**
 * Stable codes of the tools' errors. The refused and failed codes keep the WARDEN_EXECUTOR_ prefix they had when the
 * tools lived in the executor: they appear in logs, ToolFailed events and dead letters that operators match on.
 */
export const ToolErrorCodes = {
  definitionInvalid: 'WARDEN_TOOLS_DEFINITION_INVALID',
  toolRefused: 'WARDEN_EXECUTOR_TOOL_REFUSED',
  toolFailed: 'WARDEN_EXECUTOR_TOOL_FAILED',
} as const;

/** A tool definition in code is malformed (a bad name, resource or critical-field path). Terminal. */
export class ToolDefinitionError extends WardenError {
  readonly code = ToolErrorCodes.definitionInvalid;
  readonly retryable = false;
}

/**
 * The tool refused the call before touching anything: a path outside the workspace, a host outside the allowlist,
 * a collection it may not use. Terminal, and not a sign of the tool's ill health (breakers do not count it). From a
 * dry run it means the impact cannot be told (the guard escalates).
 */
export class ToolRefusedError extends WardenError {
  readonly code = ToolErrorCodes.toolRefused;
  readonly retryable = false;
}

/** The tool's own failure (its store is down, the remote answered an error). Retryable unless said otherwise. */
export class ToolCallError extends WardenError {
  readonly code = ToolErrorCodes.toolFailed;
  readonly retryable: boolean;
  constructor(message: string, options: WardenErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? true;
  }
}
