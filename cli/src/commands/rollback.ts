/**
 * `warden rollback TASK`: plans the compensations of a task's succeeded effects, newest first, from the audit log
 * (the topics, read as `warden show` reads them), prints the plan and, unless it is a dry run, submits it as a new
 * task linked to the first (ADR 0026). Each compensation is then proposed, guarded and executed like any action.
 */
import type { WardenEvent } from '@warden/contracts';
import { subjectKeysOf } from '@warden/runtime';
import {
  demoTools,
  keptErasedIn,
  planSealedRollback,
  rollbackTask,
  RollbackPlanningError,
  type RollbackPlan,
} from '@warden/tools';
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes } from '../errors.js';
import { connect } from '../events.js';
import { readTasks } from './audit.js';
import { say } from './io.js';
import { submit } from './submit.js';

/** Options of `warden rollback`. */
export interface RollbackOptions {
  /** Only the effects of this step and later (0: all). */
  readonly fromStep: number;
  /** Print the plan, submit nothing. */
  readonly dryRun: boolean;
  /** Every compensation waits for a person's approval. */
  readonly requireApproval: boolean;
  /** Who asks (recorded as the rollback task's requester). */
  readonly requester: string;
  readonly json: boolean;
}

/** The plan as people read it. */
export function planLines(plan: RollbackPlan): string[] {
  const lines = [`rollback of task ${plan.taskId} (tenant ${plan.tenantId}), effects from step ${plan.fromStep} on:`];
  if (plan.steps.length === 0) lines.push('  nothing to compensate');
  for (const s of plan.steps) {
    lines.push(
      `  undo step ${s.compensates.step} ${s.compensates.tool} (${s.compensates.actionId}) with ${s.tool} ${JSON.stringify(s.args)}`,
    );
  }
  for (const e of plan.irreversible) lines.push(`  IRREVERSIBLE step ${e.step} ${e.tool} (${e.actionId}): ${e.reason}`);
  for (const e of plan.unchanged)
    lines.push(`  nothing to undo: step ${e.step} ${e.tool} (${e.actionId}) changed nothing`);
  for (const e of plan.compensated) {
    lines.push(`  already undone: step ${e.step} ${e.tool} (${e.actionId}) by task ${e.by}`);
  }
  for (const e of plan.inProgress) {
    lines.push(`  being undone: step ${e.step} ${e.tool} (${e.actionId}) by task ${e.by}, still running`);
  }
  return lines;
}

/** `warden rollback TASK`: exit 0 when the plan was shown (and submitted). */
export async function rollback(config: CliConfig, taskId: string, options: RollbackOptions): Promise<number> {
  const { tasks } = await readTasks(config);
  const events: WardenEvent[] = [...tasks.values()].flatMap((list) => list.map((d) => d.event));
  let plan: RollbackPlan;
  try {
    // the log's sealed personal data is opened in memory to plan from (ADR 0026): the key store is in MongoDB
    const deps = await connect(config.runtime);
    const keys = subjectKeysOf(deps.db, config.runtime);
    try {
      plan = await planSealedRollback(demoTools, events, taskId, options.fromStep, keys, keptErasedIn(deps.db, keys));
    } finally {
      await deps.mongo.close();
    }
  } catch (error) {
    if (!(error instanceof RollbackPlanningError)) throw error;
    throw new CliError(CliErrorCodes.notFound, error.message, {
      hint: 'check the task id and the prefix (--prefix)',
      exitCode: ExitCodes.failed,
    });
  }
  const submitted =
    options.dryRun || plan.steps.length === 0
      ? null
      : await submit(
          config,
          rollbackTask(plan, {
            requester: { id: options.requester, kind: 'user' },
            requireApproval: options.requireApproval,
          }),
          { tenantId: plan.tenantId, taskId: plan.rollbackTaskId },
        );
  if (options.json) {
    const { original: _original, ...shown } = plan;
    say(JSON.stringify({ ...shown, dryRun: options.dryRun, submitted: submitted?.taskId ?? null }));
    return ExitCodes.ok;
  }
  for (const line of planLines(plan)) say(line);
  if (submitted !== null) {
    say(`rollback task ${submitted.taskId} submitted; follow it: warden tail ${submitted.taskId} --until-end`);
  } else if (options.dryRun && plan.steps.length > 0) {
    say(`dry run: nothing submitted (task id would be ${plan.rollbackTaskId})`);
  }
  return ExitCodes.ok;
}
