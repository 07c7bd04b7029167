import { pino } from 'pino';
import { TELEMETRY_OFF, closingTelemetry, runUntilSignal, startTelemetry } from '@warden/runtime';
import { loadExecutorConfig } from './config.js';
import { createExecutorWorker, executorDemoTools } from './worker.js';

const config = loadExecutorConfig();
// Tracing first: everything after it may start spans.
const telemetry = startTelemetry(config.telemetry ?? TELEMETRY_OFF, { serviceName: 'executor' });
const logger = pino({ name: 'executor', level: config.runtime.logLevel });
const worker = createExecutorWorker({
  runtime: config.runtime,
  settings: config.settings,
  tools: (deps) => executorDemoTools(deps, config.stores, config.settings),
});
if (await runUntilSignal(closingTelemetry(worker, telemetry), logger)) {
  logger.info({ replica: config.settings.replicaId, workspace: config.stores.workspaceRoot }, 'executor ready');
}
