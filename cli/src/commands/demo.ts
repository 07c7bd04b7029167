/**
 * `warden demo`: the stack up (unless the endpoints are given), the workers up as processes on a fresh topic prefix
 * and database, the demo scenarios submitted as tasks and followed through the log, every chain verified, a report
 * scenario by scenario. Exits 1 if any defence did not hold or any chain is broken.
 */
import { randomBytes } from 'node:crypto';
import { verifyChain, type DecodedEvent, type EventDataInput, type WardenEvent } from '@warden/contracts';
import { ensureTopics } from '@warden/runtime';
import { ExitCodes, CliError, CliErrorCodes } from '../errors.js';
import { connect, read } from '../events.js';
import { fleetDown, fleetUp } from '../fleet.js';
import { eventLine, paint } from '../format.js';
import { DEFAULT_TASK_FIELDS } from '../task.js';
import { DEMO_CUSTOMERS, DEMO_SCENARIOS, DEMO_SECRET, type DemoScenario } from '../demo/scenarios.js';
import { chainLine } from './audit.js';
import { configFrom, say, type GlobalOptions } from './io.js';
import { runStack } from './stack.js';
import { publishTasks } from './submit.js';

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
  await fleetUp(cfg, {
    services: ['scripted-model', 'guard', 'executor', 'planner'],
    replicas: new Map(),
    timeoutMs: 120_000,
    onProgress: (line) => say(`   ${line}`),
  });
  const deps = await connect(r);
  const stop = new AbortController();
  let reading: Promise<void> = Promise.resolve();
  let ok = true;
  try {
    await deps.db.collection('customers').insertMany(DEMO_CUSTOMERS.map((c) => ({ ...c })) as never[]);
    const topics = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'].map((k) =>
      deps.topics.of(k as 'tasks'),
    );
    const admin = deps.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topics);
    await admin.disconnect();
    const seen: DecodedEvent[] = [];
    let leaked = false;
    let ready: () => void = () => undefined;
    const joined = new Promise<void>((res) => (ready = res));
    reading = read(deps, topics, {
      follow: true,
      signal: stop.signal,
      onReady: () => ready(),
      onMessage: (m) => {
        if (m.message.value?.toString().includes(DEMO_SECRET) === true) leaked = true;
        if (m.decoded !== undefined) seen.push(m.decoded);
      },
    });
    await Promise.race([joined, reading]);
    const runId = Date.now().toString(36);
    const tasks = DEMO_SCENARIOS.map((s) => ({
      scenario: s,
      taskId: `${s.script}-${runId}`,
      tenantId: 'tenant-demo',
      data: { ...DEFAULT_TASK_FIELDS, ...s.data, model: `scripted:${s.script}` } as EventDataInput<'TaskSubmitted'>,
    }));
    const published = await publishTasks(deps, tasks);
    const eventsOf = (taskId: string): WardenEvent[] =>
      seen
        .filter((d) => d.event.taskId === taskId)
        .map((d) => d.event)
        .sort((a, b) => a.seq - b.seq);
    const results: Array<{ s: DemoScenario; held: boolean }> = [];
    for (const [i, t] of tasks.entries()) {
      const s: DemoScenario = t.scenario;
      say(`\n== ${i + 1}. ${s.title}\n   task ${t.taskId}, model scripted:${s.script}`);
      if ((published[i]?.redactions ?? 0) > 0)
        say(`   (${published[i]!.redactions} secret(s) redacted before the task reached Kafka)`);
      const end = await until(`the end of task ${t.taskId}`, WAIT_MS, () =>
        eventsOf(t.taskId).find((e) => s.ends.includes(e.type)),
      );
      const events = await until(`the whole chain of task ${t.taskId}`, 30_000, () => {
        const mine = eventsOf(t.taskId);
        return mine.length > 0 && new Set(mine.map((e) => e.id)).size === mine.at(-1)!.seq + 1 ? mine : undefined;
      });
      for (const e of events) say(`   ${eventLine(e, cfg.color, false)}`);
      const verdict = verifyChain(
        seen.filter((d) => d.event.taskId === t.taskId).map((d) => d.envelope),
        t.taskId,
      );
      const stores = {
        refunds: await deps.db.collection('refunds').countDocuments(),
        customers: await deps.db.collection('customers').countDocuments(),
      };
      const problem = s.check({ events, end, stores }) ?? (verdict.ok ? undefined : 'the audit chain is broken');
      const held = problem === undefined;
      ok &&= held;
      results.push({ s, held });
      say(`   -> ${end.type}; ${chainLine(verdict, cfg.color)}`);
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
    say(
      `\nthe events stay on topics "${r.topicPrefix}.*.v1": warden show TASK --prefix ${r.topicPrefix} --db ${r.mongoDb}; warden verify --prefix ${r.topicPrefix} --db ${r.mongoDb}`,
    );
  } finally {
    stop.abort();
    await reading.catch(() => undefined);
    await deps.mongo.close();
    if (keep)
      say(
        `the workers keep running: warden ps --prefix ${r.topicPrefix}; stop them with warden down --prefix ${r.topicPrefix}`,
      );
    else await fleetDown(cfg, 30_000);
  }
  return ok ? ExitCodes.ok : ExitCodes.failed;
}
