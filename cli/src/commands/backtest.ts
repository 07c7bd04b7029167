/**
 * `warden backtest POLICY`: replays every recorded proposal of the prefix through a candidate guard policy, offline
 * (the auditor's backtestTask over the events read from the topics), and says which verdicts would change.
 */
import { readFileSync } from 'node:fs';
import { backtestTasks, type Outcome } from '@warden/auditor';
import { applyCalibration, loadPolicy, parseCalibration, PolicyInvalidError, sealedOpener } from '@warden/policy';
import { subjectKeysOf } from '@warden/runtime';
import type { CliConfig } from '../config.js';
import { ExitCodes, usageError } from '../errors.js';
import { connect } from '../events.js';
import { readTasks } from './audit.js';
import { say } from './io.js';

/** Options of backtest. */
export interface BacktestOptions {
  readonly tenantId?: string;
  /** A proposed calibration document, applied over the policy (ADR 0025): which verdicts would it change? */
  readonly calibrationFile?: string;
  readonly json: boolean;
  /** Exit 1 when any verdict would change (for a policy change in CI). */
  readonly failOnChange: boolean;
}

const OUTCOMES: readonly Outcome[] = ['allow', 'deny', 'escalate'];

/** Runs the backtest and prints its report; returns the exit code. */
export async function backtest(config: CliConfig, policyFile: string, options: BacktestOptions): Promise<number> {
  let policy: ReturnType<typeof loadPolicy>;
  try {
    policy = loadPolicy(readFileSync(policyFile, 'utf8'));
  } catch (error) {
    if (error instanceof PolicyInvalidError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw usageError(
        `${policyFile} is not a usable policy: ${(error as Error).message}`,
        'start from packages/policy/policies/default.v1.json',
      );
    }
    throw error;
  }
  if (options.calibrationFile !== undefined) {
    try {
      policy = applyCalibration(policy, parseCalibration(readFileSync(options.calibrationFile, 'utf8')));
    } catch (error) {
      if (error instanceof PolicyInvalidError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw usageError(
          `${options.calibrationFile} is not a usable calibration: ${(error as Error).message}`,
          'use a calibration.json that `warden calibrate` wrote',
        );
      }
      throw error;
    }
  }
  const { tasks } = await readTasks(config);
  const chosen = [...tasks.values()]
    .map((decoded) => decoded.map((d) => d.event))
    .filter((events) => options.tenantId === undefined || events[0]?.tenantId === options.tenantId);
  // sealed personal data is opened in memory, as the live guard judged it (ADR 0026): the key store is in MongoDB
  const deps = await connect(config.runtime);
  let result;
  try {
    result = await backtestTasks(chosen, policy, { opener: sealedOpener(subjectKeysOf(deps.db, config.runtime)) });
  } finally {
    await deps.mongo.close();
  }
  if (options.json) say(JSON.stringify(result));
  else {
    say(
      `policy ${result.policyVersion}: ${result.tasks} task(s), ${result.proposals} proposal(s) replayed, ${result.unjudged} without a recorded verdict`,
    );
    say('recorded -> candidate   allow   deny   escalate');
    for (const r of OUTCOMES) {
      say(`${r.padEnd(22)} ${OUTCOMES.map((c) => String(result.matrix[r][c]).padStart(c.length + 1)).join('  ')}`);
    }
    say(`${result.changed.length} verdict(s) would change${result.changed.length > 0 ? ':' : ''}`);
    for (const c of result.changed) {
      say(
        `  ${c.taskId} ${c.actionId} ${c.tool ?? '(answer)'}: ${c.recorded.outcome} (${c.recorded.reasonCode}) -> ${c.candidate.outcome} (${c.candidate.reasonCode}${c.candidate.ruleFired === null ? '' : `, rule ${c.candidate.ruleFired}`})`,
      );
    }
  }
  return options.failOnChange && result.changed.length > 0 ? ExitCodes.failed : ExitCodes.ok;
}
