/**
 * `warden demo`: the stack up (unless the endpoints are given), the workers up as processes on a fresh topic prefix
 * and database, the demo scenarios submitted as tasks and followed through the log, every chain verified, a report
 * scenario by scenario. Exits 1 if any defence did not hold or any chain is broken.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { verifyChain, type DecodedEvent, type EventDataInput, type WardenEvent } from '@warden/contracts';
import { ExitCodes, CliError, CliErrorCodes } from '../errors.js';
import { connect, followLoop } from '../events.js';
import { fleetDown, fleetUp, workspaceOf } from '../fleet.js';
import { eventLine, paint } from '../format.js';
import { DEFAULT_TASK_FIELDS } from '../task.js';
import { DEMO_CUSTOMERS, DEMO_SCENARIOS, DEMO_SECRET, type DemoScenario } from '../demo/scenarios.js';
import { chainLine } from './audit.js';
import { configFrom, say, type GlobalOptions } from './io.js';
import { runStack } from './stack.js';
import { decideThroughPeopleApi } from './escalations.js';
import { publishTasks } from './submit.js';
import {
  currentOf,
  newCalibrationVersion,
  pointsOf,
  policyInForce,
  storePoints,
  summaryLines,
  writeReport,
} from './calibrate.js';
import { runCalibration } from '@warden/calibration';

const WAIT_MS = 120_000;

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new CliError(CliErrorCodes.failed, `timed out after ${timeoutMs} ms waiting for ${what}`, {
        hint: "look at the workers' logs: warden logs planner (guard, executor, scripted-model), with the demo's --prefix",
      });
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilAsync<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new CliError(CliErrorCodes.failed, `timed out after ${timeoutMs} ms waiting for ${what}`, {
        hint: "look at the workers' logs: warden logs planner (guard, executor, escalation), with the demo's --prefix",
      });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the demo; returns the exit code. */
export async function demo(g: GlobalOptions, keep: boolean): Promise<number> {
  const suffix = randomBytes(3).toString('hex');
  const config = configFrom({ prefix: g.prefix ?? `warden-demo-${suffix}`, db: g.db ?? `warden_demo_${suffix}` });
  if (config.endpointSource !== 'environment') {
    say('== bringing the local stack up (the first run downloads and builds; later runs reuse ~/.cache/warden)');
    if (runStack(['up']) !== 0) {
      throw new CliError(CliErrorCodes.unavailable, 'the local stack did not come up (see above)', {
        hint: 'run `warden stack status`, or point KAFKA_BROKERS, SCHEMA_REGISTRY_URL and MONGO_URL at running servers',
        exitCode: ExitCodes.unavailable,
      });
    }
  }
  const cfg = configFrom({ prefix: config.runtime.topicPrefix, db: config.runtime.mongoDb }); // endpoints as up wrote them
  const r = cfg.runtime;
  say(`kafka ${r.brokers.join(',')} | registry ${r.registryUrl} | mongodb ${r.mongoUrl}`);
  say(`== starting the workers as processes: topic prefix "${r.topicPrefix}", database "${r.mongoDb}"`);
  const fleet = await fleetUp(cfg, {
    services: ['scripted-model', 'guard', 'executor', 'planner', 'escalation'],
    replicas: new Map(),
    timeoutMs: 120_000,
    onProgress: (line) => say(`   ${line}`),
  });
  if (fleet.escalation !== undefined)
    say(
      `   the escalation page: ${fleet.escalation.url}/ (sign in with the token in ${join(cfg.fleetDir, 'escalation-tokens.json')})`,
    );
  // Read again now that `up` has made sure the installation's producer keys exist: the demo's tasks are signed as
  // the submitter's, as the workers sign theirs (ADR 0018).
  const deps = await connect(configFrom({ prefix: r.topicPrefix, db: r.mongoDb }).runtime);
  const stop = new AbortController();
  let reading: Promise<void> = Promise.resolve();
  let ok = true;
  try {
    await deps.db.collection('customers').insertMany(DEMO_CUSTOMERS.map((c) => ({ ...c })) as never[]);
    const seen: DecodedEvent[] = [];
    let leaked = false;
    ({ reading } = await followLoop(deps, stop.signal, (m) => {
      if (m.message.value?.toString().includes(DEMO_SECRET) === true) leaked = true;
      if (m.decoded !== undefined) seen.push(m.decoded);
    }));
    const runId = Date.now().toString(36);
    const workspace = workspaceOf(cfg);
    for (const s of DEMO_SCENARIOS) s.prepare?.({ workspace });
    const taskOf = (s: DemoScenario, n: number) => ({
      taskId: `${s.script}-${runId}${(s.tasks ?? 1) > 1 ? `-${n}` : ''}`,
      tenantId: 'tenant-demo',
      data: { ...DEFAULT_TASK_FIELDS, ...s.data, model: `scripted:${s.script}` } as EventDataInput<'TaskSubmitted'>,
    });
    // The single-task scenarios start together; a scenario of several tasks runs them one after another.
    const singles = DEMO_SCENARIOS.filter((s) => (s.tasks ?? 1) === 1).map((s) => taskOf(s, 1));
    const redactions = new Map<string, number>();
    for (const [i, p] of (await publishTasks(deps, singles)).entries())
      redactions.set(singles[i]!.taskId, p.redactions);
    const eventsOf = (taskId: string): WardenEvent[] =>
      seen
        .filter((d) => d.event.taskId === taskId)
        .map((d) => d.event)
        .sort((a, b) => a.seq - b.seq);
    const approved = new Set<string>();
    const announced = new Set<string>();
    const runTask = async (s: DemoScenario, taskId: string) => {
      let pending: Promise<void> = Promise.resolve();
      const end = await untilAsync(`the end of task ${taskId}`, WAIT_MS, async () => {
        await pending;
        const found = eventsOf(taskId).find((e) => s.ends.includes(e.type));
        if (found === undefined && s.person === 'approve' && fleet.escalation !== undefined) {
          const ask = eventsOf(taskId).find(
            (e) => e.type === 'EscalationRequested' && !approved.has(e.data.escalationId),
          );
          if (ask?.type === 'EscalationRequested') {
            if (!announced.has(ask.data.escalationId)) {
              announced.add(ask.data.escalationId);
              say(`   escalated (${ask.data.reasonCode}); a person decides it at ${fleet.escalation.url}/`);
            }
            pending = decideThroughPeopleApi(
              fleet.escalation,
              'approve',
              taskId,
              ask.data.escalationId,
              'approved in the demo',
            )
              .then(() => void approved.add(ask.data.escalationId))
              .catch(() => undefined); // not projected yet: asked again on the next round
          }
        }
        return found;
      });
      // Topics arrive independently: the chain is whole once every seq up to the highest is there and every event
      // an event names as its cause has arrived (events of one step may share a seq).
      const events = await until(`the whole chain of task ${taskId}`, 30_000, () => {
        const mine = seen.filter((d) => d.event.taskId === taskId);
        const hashes = new Set(mine.map((d) => d.hash));
        const seqs = new Set(mine.map((d) => d.event.seq));
        const whole =
          mine.length > 0 &&
          seqs.size === Math.max(...seqs) + 1 &&
          mine.every((d) => d.event.prevHashes.every((h) => hashes.has(h)));
        return whole ? eventsOf(taskId) : undefined;
      });
      const verdict = verifyChain(
        seen.filter((d) => d.event.taskId === taskId).map((d) => d.envelope),
        taskId,
      );
      return { end, events, verdict };
    };
    const results: Array<{ s: DemoScenario; held: boolean }> = [];
    for (const [i, s] of DEMO_SCENARIOS.entries()) {
      say(`\n== ${i + 1}. ${s.title}\n   model scripted:${s.script}`);
      const runs: Array<Awaited<ReturnType<typeof runTask>>> = [];
      for (let n = 1; n <= (s.tasks ?? 1); n++) {
        const t = taskOf(s, n);
        if ((s.tasks ?? 1) > 1) await publishTasks(deps, [t]);
        const run = await runTask(s, t.taskId);
        runs.push(run);
        say(`   task ${t.taskId}`);
        if ((redactions.get(t.taskId) ?? 0) > 0) {
          say(`   (${redactions.get(t.taskId)} secret(s) redacted before the task reached Kafka)`);
        }
        for (const e of run.events) say(`   ${eventLine(e, cfg.color, false)}`);
        say(`   -> ${run.end.type}; ${chainLine(run.verdict, cfg.color)}`);
      }
      const outcome = {
        events: runs.flatMap((r) => r.events),
        end: runs.at(-1)!.end,
        all: seen.map((d) => d.event),
        stores: {
          refunds: await deps.db.collection('refunds').countDocuments(),
          customers: await deps.db.collection('customers').countDocuments(),
        },
      };
      const problem = s.check(outcome) ?? (runs.every((r) => r.verdict.ok) ? undefined : 'an audit chain is broken');
      const held = problem === undefined;
      ok &&= held;
      results.push({ s, held });
      if (s.note !== undefined) say(`   ${s.note(outcome)}`);
      say(
        `   defence: ${s.defence}: ${held ? paint(cfg.color, 'green', 'HELD') : paint(cfg.color, 'red', `DID NOT HOLD (${problem})`)}`,
      );
    }
    const refunds = await deps.db.collection('refunds').countDocuments();
    const customers = await deps.db.collection('customers').countDocuments();
    say(
      `\nstores: ${refunds} refund recorded, ${customers} of ${DEMO_CUSTOMERS.length} customers still there; secret in the log: ${leaked ? 'LEAKED' : 'no (redacted)'}`,
    );
    ok &&= !leaked;
    say(
      `\n== report: ${results.filter((x) => x.held).length} of ${results.length} defences held${leaked ? '; a secret LEAKED' : ''}`,
    );
    for (const x of results)
      say(
        `   ${x.held ? paint(cfg.color, 'green', 'held') : paint(cfg.color, 'red', 'FAILED')}  ${x.s.script}: ${x.s.defence}`,
      );
    // Calibration over the labelled points the demo produced (ADR 0025): a handful of tasks is too little data to
    // fit or recommend anything, and the run says so rather than guessing.
    const events = new Map<string, WardenEvent[]>();
    for (const d of seen) events.set(d.event.taskId, [...(events.get(d.event.taskId) ?? []), d.event]);
    const points = pointsOf(events.values());
    await storePoints(deps.db, points);
    const calibration = runCalibration(points, {
      version: newCalibrationVersion(),
      createdAt: new Date().toISOString(),
      current: currentOf(policyInForce(undefined, undefined)),
      target: { kind: 'max_error_rate', rate: 0.01 },
    });
    const files = writeReport(calibration, join(cfg.fleetDir, 'calibration-report'));
    say(`\n== calibration over the demo's labelled points`);
    for (const line of summaryLines(calibration)) say(`   ${line}`);
    say(`   report: ${files.html}`);
    say(
      `\nthe events stay on topics "${r.topicPrefix}.*.v1": warden show TASK --prefix ${r.topicPrefix} --db ${r.mongoDb}; warden verify --prefix ${r.topicPrefix} --db ${r.mongoDb}`,
    );
  } finally {
    stop.abort();
    await reading.catch((error: unknown) => {
      process.stderr.write(`warden: the demo's reader of the log failed: ${(error as Error).message}\n`);
    });
    await deps.mongo.close();
    if (keep)
      say(
        `the workers keep running: warden ps --prefix ${r.topicPrefix}; stop them with warden down --prefix ${r.topicPrefix}`,
      );
    else await fleetDown(cfg, 30_000);
  }
  return ok ? ExitCodes.ok : ExitCodes.failed;
}
