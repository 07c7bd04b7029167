/**
 * The auditor process: `node dist/main.js` runs it; `node dist/main.js rebuild` drops the projection and rebuilds
 * it from the log, then exits; `node dist/main.js backtest <policy.json> [tenantId]` replays the recorded proposals
 * through a candidate guard policy, offline, and prints which verdicts would change. Wiring and signals only.
 */
import {
  TELEMETRY_OFF,
  closingTelemetry,
  connectRuntime,
  runUntilSignal,
  startTelemetry,
  subjectKeysOf,
} from '@warden/runtime';
import { pino } from 'pino';
import { AUDITOR_NAME, createAuditor } from './auditor.js';
import { auditorConfigFrom } from './config.js';
import { rebuildProjection } from './rebuild.js';
import { backtestProjection } from './backtest.js';
import { AuditStore } from './projector/store.js';
import { loadPolicy, sealedOpener } from '@warden/policy';
import { readFileSync } from 'node:fs';

const config = auditorConfigFrom();
// Tracing first: everything after it may start spans.
const telemetry = startTelemetry(config.telemetry ?? TELEMETRY_OFF, { serviceName: AUDITOR_NAME });
const logger = pino({ name: AUDITOR_NAME, level: config.runtime.logLevel });

async function rebuild(): Promise<void> {
  const deps = await connectRuntime(AUDITOR_NAME, config.runtime, logger);
  try {
    const report = await rebuildProjection({ deps });
    logger.info(report, 'projection rebuilt from the log');
  } finally {
    await deps.mongo.close();
  }
}

async function backtest(policyFile: string | undefined, tenantId: string | undefined): Promise<void> {
  if (policyFile === undefined) throw new Error('usage: main.js backtest <policy.json> [tenantId]');
  const policy = loadPolicy(readFileSync(policyFile, 'utf8'));
  const deps = await connectRuntime(AUDITOR_NAME, config.runtime, logger);
  try {
    const report = await backtestProjection(new AuditStore(deps.db), deps.blobs, policy, {
      ...(tenantId === undefined ? {} : { tenantId }),
      // sealed personal data opened in memory, as the live guard judged it (ADR 0026)
      opener: sealedOpener(subjectKeysOf(deps.db, config.runtime)),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await deps.mongo.close();
  }
}

async function run(): Promise<void> {
  const auditor = createAuditor({ config });
  await runUntilSignal(closingTelemetry(auditor, telemetry), logger, { graceMs: config.runtime.shutdownGraceMs });
}

const command = process.argv[2] ?? 'run';
const job =
  command === 'rebuild' ? rebuild() : command === 'backtest' ? backtest(process.argv[3], process.argv[4]) : run();
job.catch((error: unknown) => {
  logger.fatal({ err: error }, `${command} failed`);
  process.exit(1);
});
