import type { Logger } from 'pino';
import type { Worker } from './worker.js';

/**
 * Wires a service's process to its worker (call it from main.ts only): SIGTERM and SIGINT drain within the grace
 * period and exit 0 (or 1 when forced); a crash, an uncaught exception or an unhandled rejection exits 1.
 * The hooks remove themselves after the first signal; a second signal exits at once.
 */
export function runUntilSignal(worker: Worker, logger: Logger): void {
  let stopping = false;
  const stop = (reason: string, code: number): void => {
    if (stopping) {
      logger.warn({ reason }, 'second signal: exiting now');
      process.exit(code === 0 ? 130 : code);
    }
    stopping = true;
    logger.info({ reason }, 'stopping');
    worker.close().then(
      ({ forced }) => process.exit(forced || code !== 0 ? Math.max(code, 1) : 0),
      (error: unknown) => {
        logger.fatal({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  worker.onCrash((error) => {
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
}
