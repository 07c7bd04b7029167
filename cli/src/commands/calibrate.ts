/**
 * `warden calibrate`: the labelled points of the log (rebuilt from it and stored in MongoDB, `calibration_points`),
 * a calibration fitted over them, its report (HTML page and reliability diagram) and the calibration document;
 * `warden publish-calibration FILE` publishes a document (or retires the one in force) on the compacted
 * calibrations topic the guard follows (ADR 0025).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  GUARD_CALIBRATION_KEY,
  calibrationTopic,
  calibrationTopicConfig,
  labelPoints,
  reliabilityDiagramSvg,
  reportHtml,
  runCalibration,
  scopeLabel,
  taskFactsOf,
  type CalibrationRun,
  type CurrentCalibration,
  type LabelledPoint,
  type ThresholdTarget,
} from '@warden/calibration';
import type { WardenEvent } from '@warden/contracts';
import {
  DEFAULT_POLICY_FILE,
  PolicyInvalidError,
  applyCalibration,
  loadPolicy,
  parseCalibration,
  type CalibrationDocument,
  type Policy,
} from '@warden/policy';
import { ensureTopics } from '@warden/runtime';
import type { Db } from 'mongodb';
import type { CliConfig } from '../config.js';
import { ExitCodes, usageError } from '../errors.js';
import { connect } from '../events.js';
import { readTasks } from './audit.js';
import { say } from './io.js';

/** The MongoDB collection of labelled points (a projection of the log: every run rewrites it from the log). */
export const CALIBRATION_POINTS_COLLECTION = 'calibration_points';

/** Points replaced per bulk write (FerretDB 1.24 is slow on large bulks of replaces; ADR 0006). */
const POINTS_PER_BULK = 50;

/** Options of calibrate. */
export interface CalibrateOptions {
  readonly policyFile?: string;
  /** A calibration document in force now (the "before"), applied over the policy file. */
  readonly currentFile?: string;
  readonly target: ThresholdTarget;
  readonly outDir: string;
  readonly version?: string;
  readonly tenantId?: string;
  readonly minPointsPerScope?: number;
  readonly publish: boolean;
  readonly json: boolean;
}

function readJsonFile<T>(file: string, what: string, parse: (text: string) => T, hint: string): T {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof PolicyInvalidError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw usageError(`${file} is not a usable ${what}: ${(error as Error).message}`, hint);
    }
    throw error;
  }
}

/** The policy in force: the file (the bundled default unless named), with a calibration document applied. */
export function policyInForce(policyFile: string | undefined, currentFile: string | undefined): Policy {
  const policy = readJsonFile(
    policyFile ?? DEFAULT_POLICY_FILE,
    'policy',
    (t) => loadPolicy(t),
    'start from packages/policy/policies/default.v1.json',
  );
  if (currentFile === undefined) return policy;
  const doc = readJsonFile(
    currentFile,
    'calibration',
    parseCalibration,
    'use a calibration.json that `warden calibrate` wrote',
  );
  return applyCalibration(policy, doc);
}

/** The "before" of a run: the overall map and thresholds of a policy. */
export function currentOf(policy: Policy): CurrentCalibration {
  return {
    version: policy.confidence.calibration.version,
    points: policy.confidence.calibration.points,
    thresholds: policy.confidence.thresholds,
  };
}

/** The labelled points of some tasks' events. */
export function pointsOf(tasks: Iterable<readonly WardenEvent[]>): LabelledPoint[] {
  return labelPoints(taskFactsOf([...tasks].flat()));
}

/** Writes the points into MongoDB, replacing each by its id (idempotent; a rerun over the same log writes the same). */
export async function storePoints(db: Db, points: readonly LabelledPoint[]): Promise<void> {
  const collection = db.collection<LabelledPoint & { _id: string }>(CALIBRATION_POINTS_COLLECTION);
  for (let i = 0; i < points.length; i += POINTS_PER_BULK) {
    await collection.bulkWrite(
      points.slice(i, i + POINTS_PER_BULK).map((p) => ({
        replaceOne: { filter: { _id: p.id }, replacement: { _id: p.id, ...p }, upsert: true },
      })),
      { ordered: true },
    );
  }
}

/** A new calibration version: `cal-<UTC minute>-<6 hex>`. */
export function newCalibrationVersion(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `cal-${stamp}Z-${randomBytes(3).toString('hex')}`;
}

/** Writes report.html, reliability.svg (overall) and calibration.json into a directory; returns their paths. */
export function writeReport(run: CalibrationRun, outDir: string): { html: string; svg: string; document: string } {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const overall = run.scopes[0]!;
  const paths = {
    html: join(dir, 'report.html'),
    svg: join(dir, 'reliability.svg'),
    document: join(dir, 'calibration.json'),
  };
  writeFileSync(paths.html, reportHtml(run));
  writeFileSync(
    paths.svg,
    reliabilityDiagramSvg(overall.binsBefore, overall.binsAfter, {
      title: `Reliability, ${scopeLabel(overall.scope)}`,
    }),
  );
  writeFileSync(paths.document, `${JSON.stringify(run.document, null, 2)}\n`);
  return paths;
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`;

/** The run as a few lines for a terminal. */
export function summaryLines(run: CalibrationRun): string[] {
  const lines: string[] = [];
  const sources = Object.entries(run.points.bySource)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  lines.push(
    `calibration ${run.version}: ${run.points.total} point(s), ${run.points.labelled} labelled (${sources || 'none'}), ${run.points.unlabelled} not labelled yet`,
  );
  for (const s of run.scopes) {
    lines.push(
      `  map ${scopeLabel(s.scope)}: ${s.fit.why}; ECE ${s.before.ece.toFixed(4)} -> ${s.after.ece.toFixed(4)}, Brier ${s.before.brier.toFixed(4)} -> ${s.after.brier.toFixed(4)}, log loss ${s.before.logLoss.toFixed(4)} -> ${s.after.logLoss.toFixed(4)}`,
    );
  }
  for (const t of run.tiers) {
    const r = t.recommendation;
    lines.push(
      `  tier ${t.tier.padEnd(8)} ${String(t.points).padStart(5)} point(s), ${String(t.labelled).padStart(5)} labelled: ${r.status === 'recommended' ? `recommend ${r.threshold} (escalates ${pct(r.row.escalation.rate)}, wrong auto-approvals ${pct(r.row.errorAmongApproved.rate)}, upper ${pct(r.row.errorAmongApproved.upper)})` : `no recommendation: ${r.why}`}; publishes ${t.published} (in force ${t.currentThreshold})`,
    );
  }
  for (const n of run.notes) lines.push(`  note: ${n}`);
  return lines;
}

/** Runs a calibration over the log and reports it; publishes it with `publish`. Returns the exit code. */
export async function calibrate(config: CliConfig, options: CalibrateOptions): Promise<number> {
  const policy = policyInForce(options.policyFile, options.currentFile);
  const { tasks } = await readTasks(config);
  const chosen = [...tasks.values()]
    .map((decoded) => decoded.map((d) => d.event))
    .filter((events) => options.tenantId === undefined || events[0]?.tenantId === options.tenantId);
  const points = pointsOf(chosen);
  const deps = await connect(config.runtime);
  try {
    await storePoints(deps.db, points);
  } finally {
    await deps.mongo.close();
  }
  const run = runCalibration(points, {
    version: options.version ?? newCalibrationVersion(),
    createdAt: new Date().toISOString(),
    current: currentOf(policy),
    target: options.target,
    ...(options.minPointsPerScope === undefined ? {} : { minPointsPerScope: options.minPointsPerScope }),
  });
  const paths = writeReport(run, options.outDir);
  if (options.json) say(JSON.stringify({ ...run, files: paths }));
  else {
    for (const line of summaryLines(run)) say(line);
    say(`points stored in MongoDB ${config.runtime.mongoDb}.${CALIBRATION_POINTS_COLLECTION}`);
    say(`report: ${paths.html}\ndiagram: ${paths.svg}\ncalibration: ${paths.document}`);
    say(`before publishing, replay recorded traffic under it: warden backtest POLICY --calibration ${paths.document}`);
  }
  if (!options.publish) return ExitCodes.ok;
  if (!run.publishable) {
    say('not published: too little data to change anything (see the notes above)');
    return ExitCodes.failed;
  }
  await publishCalibration(config, parseCalibration(run.document));
  say(`published ${run.version} on ${calibrationTopic(config.runtime.topicPrefix)}`);
  return ExitCodes.ok;
}

/** Publishes a calibration document (or, with null, retires the one in force) on the calibrations topic. */
export async function publishCalibration(config: CliConfig, doc: CalibrationDocument | null): Promise<void> {
  const deps = await connect(config.runtime);
  const topic = calibrationTopic(config.runtime.topicPrefix);
  const admin = deps.kafka.admin();
  const producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await ensureTopics(admin, [topic], { partitions: 1, configs: { ...calibrationTopicConfig } });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: GUARD_CALIBRATION_KEY, value: doc === null ? null : JSON.stringify(doc) }],
    });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await deps.mongo.close();
  }
}

/** `warden publish-calibration FILE | --retire`. */
export async function publishCalibrationFile(
  config: CliConfig,
  file: string | undefined,
  retire: boolean,
): Promise<number> {
  if (retire === (file !== undefined)) throw usageError('name a calibration file, or --retire (not both)');
  const doc =
    file === undefined
      ? null
      : readJsonFile(file, 'calibration', parseCalibration, 'use a calibration.json that `warden calibrate` wrote');
  await publishCalibration(config, doc);
  say(
    doc === null
      ? `retired the published calibration: the policy file applies`
      : `published ${doc.version} on ${calibrationTopic(config.runtime.topicPrefix)}`,
  );
  return ExitCodes.ok;
}
