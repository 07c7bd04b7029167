/**
 * The CLI's errors: each carries a stable WARDEN_CLI_* code, the exit code the command ends with, and a hint that
 * says what to do next. main.ts prints `warden: <message>` and the hint, and exits with the code.
 */

/** Exit codes of `warden`. */
export const ExitCodes = {
  ok: 0,
  /** A check failed: a broken chain, a defence that did not hold, a worker that is not running. */
  failed: 1,
  /** The command line or an input file is wrong. */
  usage: 2,
  /** A server Warden needs (Kafka, the registry, MongoDB, a worker) does not answer. */
  unavailable: 3,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** Stable codes of CLI errors. */
export const CliErrorCodes = {
  usage: 'WARDEN_CLI_USAGE',
  invalidTask: 'WARDEN_CLI_INVALID_TASK',
  unavailable: 'WARDEN_CLI_UNAVAILABLE',
  fleet: 'WARDEN_CLI_FLEET',
  notFound: 'WARDEN_CLI_NOT_FOUND',
  failed: 'WARDEN_CLI_FAILED',
} as const;
export type CliErrorCode = (typeof CliErrorCodes)[keyof typeof CliErrorCodes];

/** Options of a CliError. */
export interface CliErrorOptions {
  readonly hint?: string;
  readonly exitCode?: ExitCode;
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

/** An error the CLI reports to a person: what went wrong, and what to do about it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  /** Whether running the same command again may succeed (a server still starting). */
  readonly retryable: boolean;

  constructor(
    readonly code: CliErrorCode,
    message: string,
    options: CliErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCodes.failed;
    this.retryable = options.retryable ?? false;
  }
}

/** A bad command line or input file (exit 2). */
export const usageError = (message: string, hint?: string): CliError =>
  new CliError(CliErrorCodes.usage, message, { exitCode: ExitCodes.usage, ...(hint === undefined ? {} : { hint }) });

/** A server that does not answer (exit 3, retryable). */
export const unavailableError = (message: string, hint: string, cause?: unknown): CliError =>
  new CliError(CliErrorCodes.unavailable, message, { exitCode: ExitCodes.unavailable, hint, retryable: true, cause });
