import { pino } from 'pino';
import { TELEMETRY_OFF, closingTelemetry, runUntilSignal, startTelemetry } from '@warden/runtime';
import { loadGuardConfig } from './config.js';
import { createGuardWorker } from './worker.js';

const config = loadGuardConfig();
// Tracing first: everything after it may start spans.
const telemetry = startTelemetry(config.telemetry ?? TELEMETRY_OFF, { serviceName: 'guard' });
const logger = pino({ name: 'guard', level: config.runtime.logLevel });
const worker = createGuardWorker({
  runtime: config.runtime,
  policySource: config.policySource,
  escalationTtlMs: config.escalationTtlMs,
  customerCollections: config.customerCollections,
  ...(config.tenantCaps === undefined ? {} : { tenantCaps: config.tenantCaps }),
  reviewSample: config.reviewSample,
  calibrationLoadTimeoutMs: config.calibrationLoadTimeoutMs,
  ...(config.signingKey === undefined ? {} : { signingKey: config.signingKey }),
});
if (await runUntilSignal(closingTelemetry(worker, telemetry), logger)) {
  logger.info({ policyFile: config.policyFile, calibration: worker.calibrationVersion() }, 'guard ready');
}
