/**
 * agent-step's pipeline with each worker in its own process (BENCH_WORKERS=processes), as they are deployed: the fleet
 * `warden up` starts (the scripted model, the guard, the executor and the planner, each
 * `services/<name>/src/main.ts` as its own Kafka principal), tasks submitted as `warden submit` does and the events
 * read back as `warden tail` does. The in-process pipeline (infra/pipeline.ts) runs every worker and the bench on
 * one event loop, where a hop also waits for the other workers' handlings; here each worker has its own.
 */
import { randomBytes } from 'node:crypto';
import type { EventDataInput, WardenEvent } from '@warden/contracts';
import type { RuntimeDeps, WorkerRuntimeConfig } from '@warden/runtime';
import { waitUntil } from '@warden/runtime/testing';
import { publishTasks } from '../cli/src/commands/submit.js';
import { loadCliConfig } from '../cli/src/config.js';
import { DEMO_CUSTOMERS } from '../cli/src/demo/scenarios.js';
import { connect, followLoop } from '../cli/src/events.js';
import { fleetDown, fleetUp } from '../cli/src/fleet.js';
import { DEFAULT_TASK_FIELDS } from '../cli/src/task.js';

/** What agent-step uses of a pipeline. */
export interface StepPipeline {
  readonly config: WorkerRuntimeConfig;
  submit(taskId: string, scenario: string, data: Partial<EventDataInput<'TaskSubmitted'>>): Promise<unknown>;
  waitFor(taskId: string, predicate: (e: WardenEvent) => boolean, timeoutMs?: number): Promise<WardenEvent>;
  waitForWholeChain(taskId: string, timeoutMs?: number): Promise<WardenEvent[]>;
  close(): Promise<void>;
}

const TENANT = 'tenant-demo';

/** Starts the fleet on a fresh prefix and database of the local stack, and reads its events. */
export async function startProcessPipeline(log: (line: string) => void): Promise<StepPipeline> {
  const suffix = randomBytes(4).toString('hex');
  const cfg = loadCliConfig(undefined, { prefix: `bench-proc-${suffix}`, db: `bench_proc_${suffix}` });
  await fleetUp(cfg, {
    services: ['scripted-model', 'guard', 'executor', 'planner'],
    replicas: new Map(),
    timeoutMs: 120_000,
    onProgress: (line) => log(`  ${line}`),
  });
  let deps: RuntimeDeps | undefined;
  const stop = new AbortController();
  let reading: Promise<void> = Promise.resolve();
  const events = new Map<string, WardenEvent[]>();
  try {
    // connected after `up`, which made sure the installation's producer keys exist (tasks are signed, ADR 0018)
    deps = await connect(
      loadCliConfig(undefined, { prefix: cfg.runtime.topicPrefix, db: cfg.runtime.mongoDb }).runtime,
    );
    await deps.db.collection('customers').insertMany(DEMO_CUSTOMERS.map((c) => ({ ...c })) as never[]);
    ({ reading } = await followLoop(deps, stop.signal, (m) => {
      const e = m.decoded?.event;
      if (e !== undefined) events.set(e.taskId, [...(events.get(e.taskId) ?? []), e]);
    }));
  } catch (error) {
    stop.abort();
    await deps?.mongo.close();
    await fleetDown(cfg, 10_000);
    throw error;
  }
  const d = deps;
  const taskEvents = (taskId: string): WardenEvent[] => [...(events.get(taskId) ?? [])].sort((a, b) => a.seq - b.seq);
  return {
    config: cfg.runtime,
    submit: (taskId, scenario, data) =>
      publishTasks(d, [
        {
          taskId,
          tenantId: TENANT,
          data: { ...DEFAULT_TASK_FIELDS, ...data, model: `scripted:${scenario}` } as EventDataInput<'TaskSubmitted'>,
        },
      ]),
    waitFor: (taskId, predicate, timeoutMs = 60_000) =>
      waitUntil(() => taskEvents(taskId).find(predicate), { timeoutMs, intervalMs: 2, what: `an event of ${taskId}` }),
    waitForWholeChain: (taskId, timeoutMs = 30_000) =>
      waitUntil(
        () => {
          const es = taskEvents(taskId);
          return es.length > 0 && es.length === es[es.length - 1]!.seq + 1 ? es : undefined;
        },
        { timeoutMs, intervalMs: 5, what: `the whole chain of ${taskId}` },
      ),
    async close() {
      stop.abort();
      await reading.catch(() => undefined);
      await d.mongo.close();
      await fleetDown(cfg, 10_000);
    },
  };
}
