import { pino } from 'pino';
import { runUntilSignal } from '@warden/runtime';
import { createDemoTools } from '@warden/tools';
import { loadExecutorConfig } from './config.js';
import { createExecutorWorker } from './worker.js';

const config = loadExecutorConfig();
const logger = pino({ name: 'executor', level: config.runtime.logLevel });
const worker = createExecutorWorker({
  runtime: config.runtime,
  settings: config.settings,
  tools: (deps) => createDemoTools({ db: deps.db, ...config.stores }),
});
runUntilSignal(worker, logger);
await worker.start();
logger.info({ replica: config.settings.replicaId, workspace: config.stores.workspaceRoot }, 'executor ready');
