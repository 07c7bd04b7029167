/** The escalation service process: `node dist/main.js`. Wiring and signals only. */
import { TELEMETRY_OFF, closingTelemetry, runUntilSignal, startTelemetry } from '@warden/runtime';
import { pino } from 'pino';
import { escalationConfigFrom } from './config.js';
import { ESCALATION_NAME, createEscalationService } from './service.js';

const config = escalationConfigFrom();
// Tracing first: everything after it may start spans.
const telemetry = startTelemetry(config.telemetry ?? TELEMETRY_OFF, { serviceName: ESCALATION_NAME });
const logger = pino({ name: ESCALATION_NAME, level: config.runtime.logLevel });
const service = createEscalationService({ config });
await runUntilSignal(closingTelemetry(service, telemetry), logger, { graceMs: config.runtime.shutdownGraceMs });
