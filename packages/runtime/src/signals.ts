import type { Logger } from 'pino';

/** What runUntilSignal stops: a worker, or any service with the same close/onCrash shape. */
export interface Stoppable {
  /** Drains and closes; `forced` says the grace period ran out. */
  close(): Promise<{ readonly forced: boolean } | void>;
  onCrash(listener: (error: Error) => void): void;
}

/** What runUntilSignal starts and stops. */
export interface Service extends Stoppable {
  /** Connects and starts; rejects if it cannot, or if close() is called before it is done. */
  start(): Promise<void>;
}

/**
 * Starts a service's worker and wires its process to it (call it from main.ts only): SIGTERM and SIGINT drain
 * within the grace period and exit 0 (or 1 when forced); a failed start, a crash, an uncaught exception or an
 * unhandled rejection exits 1. A second signal exits at once. With `graceMs`, a close that takes longer than that
 * exits 1 (for a service whose close() has no grace period of its own).
 *
 * A start that a stop interrupts (a SIGTERM while the worker connects, or while its onStarted hook still runs) is
 * not a failure: the start's error is the close's doing, and the close decides the exit code.
 *
 * Resolves true once the service has started, false if it did not (the process is then exiting).
 */
export async function runUntilSignal(
  service: Service,
  logger: Logger,
  options: { readonly graceMs?: number } = {},
): Promise<boolean> {
  let stopping = false;
  const stop = (reason: string, code: number): void => {
    if (stopping) {
      logger.warn({ reason }, 'second signal: exiting now');
      process.exit(code === 0 ? 130 : code);
    }
    stopping = true;
    logger.info({ reason }, 'stopping');
    if (options.graceMs !== undefined) {
      const graceMs = options.graceMs;
      setTimeout(() => {
        logger.error({ graceMs }, 'shutdown grace period expired: forcing');
        process.exit(1);
      }, graceMs).unref();
    }
    service.close().then(
      (result) => process.exit(result?.forced === true || code !== 0 ? Math.max(code, 1) : 0),
      (error: unknown) => {
        logger.fatal({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  service.onCrash((error) => {
    logger.fatal({ err: error }, 'worker crashed');
    stop('crash', 1);
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    stop('unhandledRejection', 1);
  });
  try {
    await service.start();
    return true;
  } catch (error) {
    if (stopping) {
      logger.info({ err: error }, 'start interrupted by the stop');
    } else {
      logger.fatal({ err: error }, 'start failed');
      stop('start failed', 1);
    }
    return false;
  }
}

/** One step of a shutdown: a name for the log, and what to run (undefined: nothing to close). */
export type CloseStep = readonly [name: string, run: (() => Promise<unknown>) | undefined];

/**
 * Runs shutdown steps in order; a step that fails is logged and the next one still runs, so one broken connection
 * never keeps the others open.
 */
export async function closeInOrder(
  steps: readonly CloseStep[],
  logger: Logger | undefined,
  what: string,
): Promise<void> {
  for (const [name, run] of steps) {
    if (run === undefined) continue;
    try {
      await run();
    } catch (error) {
      logger?.warn({ err: error, step: name }, `error while closing ${what}`);
    }
  }
}
