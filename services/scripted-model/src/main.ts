import { pino } from 'pino';
import { loadConfig, type ScriptedModelConfig } from './config.js';
import { loadScenarios } from './scenario.js';
import { createScriptedModelServer } from './server.js';

// Wiring and signals only. SIGTERM/SIGINT close within the grace period and exit 0 (1 when forced); a second signal
// exits at once; a startup failure, an uncaught exception or an unhandled rejection exits 1.

const bootLogger = pino({ name: 'scripted-model' });
let config: ScriptedModelConfig;
try {
  config = loadConfig();
} catch (error) {
  bootLogger.fatal({ err: error }, 'bad configuration');
  process.exit(1);
}
const logger = pino({ name: 'scripted-model', level: config.logLevel });

const scenarios = await loadScenarios(config.scenariosDir).catch((error: unknown) => {
  logger.fatal({ err: error }, 'cannot load scenarios');
  process.exit(1);
});
const server = createScriptedModelServer({
  scenarios,
  logger,
  bodyLimitBytes: config.bodyLimitBytes,
  maxTrackedAttempts: config.maxTrackedAttempts,
});

let stopping = false;
function stop(reason: string, exitCode: number): void {
  if (stopping) {
    logger.warn({ reason }, 'second signal: exiting now');
    process.exit(exitCode === 0 ? 130 : exitCode);
  }
  stopping = true;
  logger.info({ reason, graceMs: config.shutdownGraceMs }, 'stopping');
  const force = setTimeout(() => {
    logger.error({ graceMs: config.shutdownGraceMs }, 'close did not finish within the grace period: forcing exit');
    process.exit(1);
  }, config.shutdownGraceMs);
  force.unref();
  server.close().then(
    () => process.exit(exitCode),
    (error: unknown) => {
      logger.fatal({ err: error }, 'close failed');
      process.exit(1);
    },
  );
}

process.on('SIGTERM', () => stop('SIGTERM', 0));
process.on('SIGINT', () => stop('SIGINT', 0));
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception');
  stop('uncaughtException', 1);
});
process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: reason }, 'unhandled rejection');
  stop('unhandledRejection', 1);
});

try {
  await server.listen({ port: config.port, host: config.host });
} catch (error) {
  logger.fatal({ err: error, port: config.port, host: config.host }, 'cannot listen');
  process.exit(1);
}
