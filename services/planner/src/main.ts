import { pino } from 'pino';
import { TELEMETRY_OFF, closingTelemetry, runUntilSignal, startTelemetry } from '@warden/runtime';
import { loadPlannerConfig } from './config.js';
import { createPlannerWorker } from './worker.js';

const config = loadPlannerConfig();
// Tracing first: everything after it may start spans.
const telemetry = startTelemetry(config.telemetry ?? TELEMETRY_OFF, { serviceName: 'planner' });
const logger = pino({ name: 'planner', level: config.runtime.logLevel });
const worker = createPlannerWorker({
  runtime: config.runtime,
  settings: config.settings,
  telemetry: config.telemetry ?? TELEMETRY_OFF,
});
if (await runUntilSignal(closingTelemetry(worker, telemetry), logger)) {
  logger.info({ model: config.settings.defaultModel, baseURL: config.settings.model.baseURL }, 'planner ready');
}
