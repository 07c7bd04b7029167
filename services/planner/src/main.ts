import { pino } from 'pino';
import { runUntilSignal } from '@warden/runtime';
import { loadPlannerConfig } from './config.js';
import { createPlannerWorker } from './worker.js';

const config = loadPlannerConfig();
const logger = pino({ name: 'planner', level: config.runtime.logLevel });
const worker = createPlannerWorker({ runtime: config.runtime, settings: config.settings });
runUntilSignal(worker, logger);
await worker.start();
logger.info({ model: config.settings.defaultModel, baseURL: config.settings.model.baseURL }, 'planner ready');
