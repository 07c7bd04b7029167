/**
 * `warden`: the local stack, the fleet as processes, tasks in, events out, chains verified, the demo. Each command
 * prints what it did; errors say what to do next; exit codes: 0 ok, 1 a check failed, 2 bad usage or input,
 * 3 a server does not answer.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, CliErrorCodes, ExitCodes, usageError } from './errors.js';
import { fleetDown, fleetStatus, fleetUp, FleetServices, parseReplicas, parseServices } from './fleet.js';
import { buildTask, type TaskFlags } from './task.js';
import { configFrom, say, type GlobalOptions } from './commands/io.js';
import { runStack } from './commands/stack.js';
import { logs } from './commands/logs.js';
import { carryOverBudgets, showBudgets } from './commands/budgets.js';
import { decideEscalation, decideHalt, listEscalations, showEscalation } from './commands/escalations.js';
import type * as AuditModule from './commands/audit.js';
import type * as BacktestModule from './commands/backtest.js';
import type * as CalibrateModule from './commands/calibrate.js';
import type * as DemoModule from './commands/demo.js';
import type * as EraseModule from './commands/erase.js';
import type * as RollbackModule from './commands/rollback.js';
import type * as SubmitModule from './commands/submit.js';
import type * as TailModule from './commands/tail.js';

// Commands that talk to Kafka load their modules (kafkajs, the codec, MongoDB) when run, so --help stays quick.
const submit = async (...a: Parameters<typeof SubmitModule.submit>) =>
  (await import('./commands/submit.js')).submit(...a);
const tail = async (...a: Parameters<typeof TailModule.tail>) => (await import('./commands/tail.js')).tail(...a);
const show = async (...a: Parameters<typeof AuditModule.show>) => (await import('./commands/audit.js')).show(...a);
const verify = async (...a: Parameters<typeof AuditModule.verify>) =>
  (await import('./commands/audit.js')).verify(...a);
const backtest = async (...a: Parameters<typeof BacktestModule.backtest>) =>
  (await import('./commands/backtest.js')).backtest(...a);
const calibrate = async (...a: Parameters<typeof CalibrateModule.calibrate>) =>
  (await import('./commands/calibrate.js')).calibrate(...a);
const publishCalibrationFile = async (...a: Parameters<typeof CalibrateModule.publishCalibrationFile>) =>
  (await import('./commands/calibrate.js')).publishCalibrationFile(...a);
const demo = async (...a: Parameters<typeof DemoModule.demo>) => (await import('./commands/demo.js')).demo(...a);
const erase = async (...a: Parameters<typeof EraseModule.erase>) => (await import('./commands/erase.js')).erase(...a);
const rollback = async (...a: Parameters<typeof RollbackModule.rollback>) =>
  (await import('./commands/rollback.js')).rollback(...a);

const ENVIRONMENT = `
Environment:
  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL   the servers (default: the local stack's, from \`warden stack up\`)
  WARDEN_TOPIC_PREFIX   topics are <prefix>.<kind>.v1 (default "warden"); --prefix overrides it
  MONGO_DB              the workers' database (default "warden"); --db overrides it
  WARDEN_CACHE_DIR      downloads, stack and fleet state, logs (default ~/.cache/warden)
  NO_COLOR / FORCE_COLOR  colour off / on
Exit codes: 0 ok, 1 a check failed, 2 bad usage or input, 3 a server does not answer.`;

let exitCode: number = ExitCodes.ok;
const program = new Command('warden')
  .description('Warden: guard rails for AI agents on Kafka. Run the fleet, submit tasks, follow and verify them.')
  .option('--prefix <prefix>', 'topic prefix (default: WARDEN_TOPIC_PREFIX or "warden")')
  .option('--db <name>', 'MongoDB database of the workers (default: MONGO_DB or "warden")')
  .addHelpText('after', ENVIRONMENT)
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

const stack = program.command('stack').description('the local stack: Kafka, the schema registry, FerretDB');
for (const [name, description] of [
  ['up', 'fetch (first run only), start and wait for the servers'],
  ['down', 'stop the servers `stack up` started'],
  ['status', 'print each server and its health; exit 0 only if all are healthy'],
] as const) {
  stack
    .command(name)
    .description(description)
    .action(() => {
      exitCode = runStack([name]);
    });
}

program
  .command('up')
  .description('start the workers, each its own process, and wait until each is ready')
  .argument('[workers...]', `which workers (default all: ${FleetServices.join(', ')})`)
  .option('--replicas <name=count...>', 'replicas of a worker, e.g. --replicas guard=2 executor=2', [])
  .addOption(new Option('--timeout <seconds>', 'how long each worker may take to become ready').default('120'))
  .action(async (workers: string[], o: { replicas: string[]; timeout: string }) => {
    const config = configFrom(globals());
    const state = await fleetUp(config, {
      services: parseServices(workers),
      replicas: parseReplicas(o.replicas),
      timeoutMs: Number(o.timeout) * 1000,
      onProgress: say,
    });
    const planners = state.processes.some((p) => p.service === 'planner');
    say(
      `fleet up on topic prefix "${state.topicPrefix}", database "${state.mongoDb}"${planners ? `, model ${state.modelUrl}` : ''}`,
    );
    say(`logs: warden logs NAME (in ${config.fleetDir}); stop: warden down`);
  });

program
  .command('down')
  .description('stop the workers `up` started: SIGTERM, then SIGKILL after the grace period')
  .addOption(new Option('--grace <seconds>', 'how long each worker may take to drain').default('30'))
  .action(async (o: { grace: string }) => {
    const config = configFrom(globals());
    const result = await fleetDown(config, Number(o.grace) * 1000);
    if (result === undefined) {
      say(`no fleet recorded for topic prefix "${config.runtime.topicPrefix}"`);
      return;
    }
    say(
      `stopped ${result.stopped.length} worker(s)${result.killed.length > 0 ? `; killed after the grace period: ${result.killed.map((p) => `${p.service}-${p.replica}`).join(', ')}` : ''}`,
    );
  });

program
  .command('ps')
  .description('the workers of this prefix: pid, port, ready or not; exit 1 if any is not ready')
  .option('--json', 'one JSON document')
  .action(async (o: { json?: boolean }) => {
    const config = configFrom(globals());
    const status = await fleetStatus(config);
    if (status === undefined) {
      if (o.json === true) say(JSON.stringify({ topicPrefix: config.runtime.topicPrefix, processes: [] }));
      else say(`no fleet on topic prefix "${config.runtime.topicPrefix}" (start one with \`warden up\`)`);
      exitCode = ExitCodes.failed;
      return;
    }
    if (o.json === true) say(JSON.stringify({ topicPrefix: config.runtime.topicPrefix, processes: status }));
    else {
      say('NAME               PID      PORT   STATE');
      for (const p of status) {
        const name = `${p.service}-${p.replica}`;
        say(
          `${name.padEnd(18)} ${String(p.pid).padEnd(8)} ${String(p.port).padEnd(6)} ${p.ready ? 'ready' : p.alive ? 'not ready' : 'exited'}`,
        );
      }
    }
    if (!status.every((p) => p.ready)) exitCode = ExitCodes.failed;
  });

program
  .command('logs')
  .description("a worker's log (all its replicas): the last lines, or follow it")
  .argument('<name>', `a worker (${FleetServices.join(', ')}) or one replica (e.g. guard-2)`)
  .option('-f, --follow', 'keep printing as the log grows')
  .addOption(new Option('-n, --lines <count>', 'lines to print first').default('50'))
  .action(async (name: string, o: { follow?: boolean; lines: string }) => {
    exitCode = await logs(configFrom(globals()), name, Number(o.lines), o.follow === true);
  });

program
  .command('submit')
  .description('submit a task (from a JSON or YAML file and/or flags), validated against TaskSubmitted; prints its id')
  .argument(
    '[file]',
    'a JSON or YAML file with the task: goal, input, scope, and optionally limits, budgets, risk, model',
  )
  .option('--goal <text>', "the task's goal")
  .option('--input <json>', "the task's input, a JSON object")
  .option('--tools <list>', 'the tools in scope, comma-separated, e.g. customers.query,payments.refund')
  .option('--collections <list>', 'the collections in scope, comma-separated')
  .option('--model <name>', 'the model, e.g. scripted:pipeline-refund')
  .option('--tenant <id>', 'the tenant', 'default')
  .option('--task-id <id>', 'the task id (default: a new UUID)')
  .option('--json', 'print {"taskId": ...} instead of the bare id')
  .action(
    async (
      file: string | undefined,
      o: Omit<TaskFlags, 'file'> & { tenant: string; taskId?: string; json?: boolean },
    ) => {
      const data = buildTask({ ...o, ...(file === undefined ? {} : { file }) });
      const result = await submit(configFrom(globals()), data, {
        tenantId: o.tenant,
        ...(o.taskId === undefined ? {} : { taskId: o.taskId }),
      });
      if (o.json === true) say(JSON.stringify(result));
      else {
        say(result.taskId);
        if (result.redactions > 0)
          process.stderr.write(`(${result.redactions} secret(s) redacted before the task reached Kafka)\n`);
      }
    },
  );

program
  .command('tail')
  .description('follow every event (or one task), live, one line each')
  .argument('[task]', 'only this task')
  .option('--json', 'one JSON object per line (the event and its topic and hash)')
  .option('--from-now', 'only what happens from now on (default: the log so far, then live)')
  .option('--until-end', 'with a task: stop when it completes, fails or halts')
  .action(async (task: string | undefined, o: { json?: boolean; fromNow?: boolean; untilEnd?: boolean }) => {
    exitCode = await tail(configFrom(globals()), {
      ...(task === undefined ? {} : { taskId: task }),
      json: o.json === true,
      fromNow: o.fromNow === true,
      untilEnd: o.untilEnd === true,
    });
  });

program
  .command('show')
  .description("a task's audit timeline and whether its chain holds (exit 1 if it does not)")
  .argument('<task>', 'the task id')
  .option('--json', 'one JSON document')
  .action(async (task: string, o: { json?: boolean }) => {
    exitCode = await show(configFrom(globals()), task, o.json === true);
  });

program
  .command('verify')
  .description("verify one task's hash chain, or every task's; exit 1 on any break")
  .argument('[task]', 'only this task')
  .option('--json', 'one JSON document')
  .action(async (task: string | undefined, o: { json?: boolean }) => {
    exitCode = await verify(configFrom(globals()), task, o.json === true);
  });

program
  .command('backtest')
  .description('replay the recorded proposals through a candidate guard policy, offline; print what would change')
  .argument('<policy>', 'a policy file (JSON), e.g. a copy of packages/policy/policies/default.v1.json')
  .option('--tenant <id>', "only this tenant's tasks")
  .option(
    '--calibration <file>',
    'a proposed calibration (calibration.json from `warden calibrate`) applied over the policy',
  )
  .option('--fail-on-change', 'exit 1 if any verdict would change')
  .option('--json', 'one JSON document')
  .action(
    async (policy: string, o: { tenant?: string; calibration?: string; failOnChange?: boolean; json?: boolean }) => {
      exitCode = await backtest(configFrom(globals()), policy, {
        ...(o.tenant === undefined ? {} : { tenantId: o.tenant }),
        ...(o.calibration === undefined ? {} : { calibrationFile: o.calibration }),
        json: o.json === true,
        failOnChange: o.failOnChange === true,
      });
    },
  );

program
  .command('calibrate')
  .description(
    'label every resolved proposal of the log (stored in MongoDB), fit a calibration map, report it (HTML, SVG) and recommend thresholds per risk tier',
  )
  .option('--policy <file>', 'the policy in force (default: the bundled default.v1.json)')
  .option('--current <file>', 'the calibration in force now (a published calibration.json), applied over the policy')
  .option('--target-error <rate>', 'recommend for at most this share of wrong auto-approvals (default 0.01)')
  .option('--target-escalation <rate>', 'recommend for at most this share of escalations instead')
  .option('--min-points-per-scope <n>', 'labelled points a tier or tool needs for a map of its own (default 200)')
  .option('--out <dir>', 'where report.html, reliability.svg and calibration.json go', 'calibration-report')
  .option('--version <name>', 'the calibration version (default cal-<UTC time>-<random>)')
  .option('--tenant <id>', "only this tenant's tasks")
  .option('--publish', 'publish the calibration for the guard (refused when the data supports no change)')
  .option('--json', 'one JSON document')
  .action(
    async (o: {
      policy?: string;
      current?: string;
      targetError?: string;
      targetEscalation?: string;
      minPointsPerScope?: string;
      out: string;
      version?: string;
      tenant?: string;
      publish?: boolean;
      json?: boolean;
    }) => {
      if (o.targetError !== undefined && o.targetEscalation !== undefined) {
        throw usageError('give --target-error or --target-escalation, not both');
      }
      const rate = Number(o.targetEscalation ?? o.targetError ?? '0.01');
      if (!(rate > 0 && rate < 1)) throw usageError('a target rate is a number between 0 and 1, e.g. 0.01');
      const minPoints = o.minPointsPerScope === undefined ? undefined : Number(o.minPointsPerScope);
      if (minPoints !== undefined && !(Number.isInteger(minPoints) && minPoints > 0)) {
        throw usageError('--min-points-per-scope is a positive whole number');
      }
      exitCode = await calibrate(configFrom(globals()), {
        ...(o.policy === undefined ? {} : { policyFile: o.policy }),
        ...(o.current === undefined ? {} : { currentFile: o.current }),
        target: { kind: o.targetEscalation === undefined ? 'max_error_rate' : 'max_escalation_rate', rate },
        outDir: o.out,
        ...(o.version === undefined ? {} : { version: o.version }),
        ...(o.tenant === undefined ? {} : { tenantId: o.tenant }),
        ...(minPoints === undefined ? {} : { minPointsPerScope: minPoints }),
        publish: o.publish === true,
        json: o.json === true,
      });
    },
  );

program
  .command('publish-calibration')
  .description('publish a calibration (calibration.json) for the guard, or retire the one in force')
  .argument('[file]', 'the calibration document')
  .option('--retire', 'retire the published calibration: the policy file applies again')
  .action(async (file: string | undefined, o: { retire?: boolean }) => {
    exitCode = await publishCalibrationFile(configFrom(globals()), file, o.retire === true);
  });

const budgets = program
  .command('budgets')
  .description(
    "what each tenant has spent and what planners hold of its budget, folded from the tenant budget log (needs a Kafka principal that may read it: the admin's or the planner's)",
  )
  .option('--tenant <id>', 'only this tenant')
  .option('--json', 'one JSON document')
  .action(async (o: { tenant?: string; json?: boolean }) => {
    exitCode = await showBudgets(configFrom(globals()), {
      ...(o.tenant === undefined ? {} : { tenant: o.tenant }),
      json: o.json === true,
    });
  });

budgets
  .command('carry-over')
  .description(
    "carry each tenant's spend from the planners' MongoDB budget log of before ADR 0032 (planner_budget_log) into the tenant budget log, once; run after the old planners are stopped (needs the admin's or the planner's Kafka principal)",
  )
  .option('--dry-run', 'show what would be carried, write nothing')
  .option('--json', 'one JSON document')
  .action(async (o: { dryRun?: boolean; json?: boolean }) => {
    // `--json` after the subcommand is parsed as `budgets`'s own option (commander's default): either counts
    const json = o.json === true || budgets.opts<{ json?: boolean }>().json === true;
    exitCode = await carryOverBudgets(configFrom(globals()), { dryRun: o.dryRun === true, json });
  });

program
  .command('rollback')
  .description(
    "undo a task's effects: plan their compensations newest first from the log, show them, run them as a new task",
  )
  .argument('<task>', 'the task id')
  .addOption(new Option('--from-step <n>', 'only the effects of this step and later').default('0'))
  .option('--dry-run', 'show the plan, submit nothing')
  .option('--require-approval', 'every compensation waits for a person (escalation service)')
  .addOption(new Option('--requester <id>', 'who asks (the rollback task records it)').default('warden-cli'))
  .option('--json', 'one JSON document')
  .action(
    async (
      task: string,
      o: { fromStep: string; dryRun?: boolean; requireApproval?: boolean; requester: string; json?: boolean },
    ) => {
      const fromStep = Number(o.fromStep);
      if (!Number.isInteger(fromStep) || fromStep < 0) {
        throw new CliError(CliErrorCodes.usage, `--from-step must be a step number, not ${o.fromStep}`, {
          exitCode: ExitCodes.usage,
        });
      }
      exitCode = await rollback(configFrom(globals()), task, {
        fromStep,
        dryRun: o.dryRun === true,
        requireApproval: o.requireApproval === true,
        requester: o.requester,
        json: o.json === true,
      });
    },
  );

program
  .command('erase')
  .description("crypto-shredding: delete a data subject's key, so its sealed personal data reads as erased everywhere")
  .argument('<subject>', "the data subject's id in its tenant, e.g. a customer id")
  .requiredOption('--tenant <id>', "the subject's tenant")
  .option('--whole-tenant', "delete the tenant's key instead (per-tenant sealing); SUBJECT is then only recorded")
  .addOption(new Option('--reason <text>', 'why (recorded with the erasure)').default('erasure requested'))
  .addOption(new Option('--requester <id>', 'who asks (recorded with the erasure)').default('warden-cli'))
  .option('--json', 'one JSON document')
  .action(
    async (
      subject: string,
      o: { tenant: string; wholeTenant?: boolean; reason: string; requester: string; json?: boolean },
    ) => {
      exitCode = await erase(configFrom(globals()), subject, {
        tenantId: o.tenant,
        wholeTenant: o.wholeTenant === true,
        reason: o.reason,
        requester: o.requester,
        json: o.json === true,
      });
    },
  );

const escalations = program
  .command('escalations')
  .description(
    'what was paused for a person, through the escalation service (ESCALATION_URL, token in ESCALATION_TOKEN)',
  );
escalations
  .command('list')
  .description('the escalations your tenants may see')
  .option('--status <status>', 'only pending, approved, denied, expired, cancelled or resumed ones')
  .option('--json', 'one JSON document')
  .action(async (o: { status?: string; json?: boolean }) => {
    exitCode = await listEscalations(configFrom(globals()), {
      ...(o.status === undefined ? {} : { status: o.status }),
      json: o.json === true,
    });
  });
escalations
  .command('show')
  .description('one escalation: what was paused, why, under which policy, until when')
  .argument('<task>', 'the task id')
  .argument('<escalation>', 'the escalation id')
  .option('--json', 'one JSON document')
  .action(async (task: string, escalation: string, o: { json?: boolean }) => {
    exitCode = await showEscalation(configFrom(globals()), task, escalation, o.json === true);
  });
for (const kind of ['approve', 'deny'] as const) {
  escalations
    .command(kind)
    .description(`${kind} an escalation, bound to the arguments and policy version it shows now`)
    .argument('<task>', 'the task id')
    .argument('<escalation>', 'the escalation id')
    .option('--comment <text>', 'why (recorded with the decision)')
    .action(async (task: string, escalation: string, o: { comment?: string }) => {
      exitCode = await decideEscalation(configFrom(globals()), kind, task, escalation, o.comment);
    });
}
const count = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number of at least 0, not ${v}`);
  return n;
};
escalations
  .command('resume')
  .description('resume a task halted by a breaker, a budget or a loop (admin), from where it stopped')
  .argument('<task>', 'the task id')
  .argument('<escalation>', 'the escalation id the halt raised')
  .option('--comment <text>', 'why (recorded with the decision)')
  .option('--grant-tokens <n>', 'tokens added to the task budget', count('--grant-tokens'))
  .option('--grant-cost-usd <usd>', 'USD added to the task budget', count('--grant-cost-usd'))
  .option('--grant-steps <n>', 'steps added to the task limit', count('--grant-steps'))
  .option('--grant-wall-time-ms <ms>', 'milliseconds added to the task wall-time limit', count('--grant-wall-time-ms'))
  .action(
    async (
      task: string,
      escalation: string,
      o: {
        comment?: string;
        grantTokens?: number;
        grantCostUsd?: number;
        grantSteps?: number;
        grantWallTimeMs?: number;
      },
    ) => {
      const grant = {
        ...(o.grantTokens === undefined ? {} : { tokens: o.grantTokens }),
        ...(o.grantCostUsd === undefined ? {} : { costUsd: o.grantCostUsd }),
        ...(o.grantSteps === undefined ? {} : { steps: o.grantSteps }),
        ...(o.grantWallTimeMs === undefined ? {} : { wallTimeMs: o.grantWallTimeMs }),
      };
      exitCode = await decideHalt(configFrom(globals()), 'resume', task, escalation, o.comment, grant);
    },
  );
escalations
  .command('cancel')
  .description('cancel a halted task (admin): it ends as failed with its partial result')
  .argument('<task>', 'the task id')
  .argument('<escalation>', 'the escalation id the halt raised')
  .option('--comment <text>', 'why (recorded with the decision)')
  .action(async (task: string, escalation: string, o: { comment?: string }) => {
    exitCode = await decideHalt(configFrom(globals()), 'cancel', task, escalation, o.comment);
  });

program
  .command('demo')
  .description('bring the stack and the workers up as processes, run the scenarios on the scripted model, report')
  .option('--keep', 'leave the workers running afterwards (stop them with `warden down --prefix ...`)')
  .action(async (o: { keep?: boolean }) => {
    exitCode = await demo(globals(), o.keep === true);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    exitCode = error.exitCode === 0 ? ExitCodes.ok : ExitCodes.usage;
  } else if (error instanceof CliError) {
    process.stderr.write(`warden: ${error.message}\n`);
    if (error.hint !== undefined) process.stderr.write(`  what to do: ${error.hint}\n`);
    exitCode = error.exitCode;
  } else if ((error as { code?: unknown }).code === 'WARDEN_RUNTIME_CONFIG') {
    process.stderr.write(
      `warden: ${(error as Error).message}\n  what to do: fix the environment variables named above\n`,
    );
    exitCode = ExitCodes.usage;
  } else if ((error as Error).name?.startsWith('KafkaJS') === true) {
    process.stderr.write(`warden: Kafka answered: ${(error as Error).message}\n`);
    process.stderr.write(
      '  what to do: check Kafka with `warden stack status` (or KAFKA_BROKERS), then run the command again\n',
    );
    exitCode = ExitCodes.unavailable;
  } else {
    process.stderr.write(`warden: ${(error as Error).stack ?? String(error)}\n`);
    exitCode = ExitCodes.failed;
  }
}
process.exit(exitCode);
