/**
 * The whole agent loop in one process, for the demo and the end-to-end tests: the bundled scripted model (an
 * OpenAI-compatible server), the planner, the guard and the executor, each the same worker its main.ts starts,
 * configured through its own loadConfig, all on one test topic prefix and database of the real stack.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTask, type EncodedEvent, type EventDataInput, type WardenEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createDemoTools, createExecutorWorker, loadExecutorConfig } from '@warden/executor';
import { createGuardWorker } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { createPlannerWorker, loadPlannerConfig } from '@warden/planner';
import type { Worker, WorkerRuntimeConfig } from '@warden/runtime';
import {
  EventCollector,
  startTestPublisher,
  testWorkerConfig,
  type TestEndpoints,
  type TestPublisher,
} from '@warden/runtime/testing';
import { startScriptedModel } from '@warden/scripted-model/testing';
import type { Db } from 'mongodb';
import { DEMO_CUSTOMERS } from '../cli/src/demo/scenarios.js';

/** A running pipeline. */
export interface Pipeline {
  readonly config: WorkerRuntimeConfig;
  readonly db: Db;
  readonly events: EventCollector;
  /** The executor's workspace (files.read and files.write work below it). */
  readonly workspace: string;
  /** Submits a task played by a bundled scenario; returns its TaskSubmitted. */
  submit(
    taskId: string,
    scenario: string,
    data?: Partial<EventDataInput<'TaskSubmitted'>>,
    tenantId?: string,
  ): Promise<EncodedEvent>;
  /** The task's events seen so far, in seq order. */
  taskEvents(taskId: string): WardenEvent[];
  /** Waits until every event of the task up to its highest seq seen has arrived (topics arrive independently). */
  waitForWholeChain(taskId: string, timeoutMs?: number): Promise<WardenEvent[]>;
  /** Waits until the task has an event matching `predicate`. */
  waitFor(taskId: string, predicate: (e: WardenEvent) => boolean, timeoutMs?: number): Promise<WardenEvent>;
  close(): Promise<void>;
}

/** The demo customers (the same ones `warden demo` seeds). */
export const demoCustomers = DEMO_CUSTOMERS;

/** Starts the pipeline against the stack's endpoints. */
export async function startPipeline(endpoints: TestEndpoints, logLevel = 'warn'): Promise<Pipeline> {
  const config = testWorkerConfig(endpoints, { logLevel });
  const model = await startScriptedModel();
  const workspace = await mkdtemp(join(tmpdir(), 'warden-pipeline-'));
  const env = {
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    MONGO_URL: endpoints.mongoUrl,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'scripted',
    EXECUTOR_WORKSPACE_ROOT: workspace,
  };
  const executorConfig = loadExecutorConfig(env);
  const plannerConfig = loadPlannerConfig(env);
  const workers: Worker[] = [
    createGuardWorker({
      runtime: config,
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: 3_600_000,
    }),
    createExecutorWorker({
      runtime: config,
      settings: executorConfig.settings,
      tools: (deps) => createDemoTools({ db: deps.db, ...executorConfig.stores }),
    }),
    createPlannerWorker({ runtime: config, settings: plannerConfig.settings }),
  ];
  const started: Worker[] = [];
  try {
    for (const w of workers) {
      await w.start();
      started.push(w);
    }
  } catch (error) {
    for (const w of started) await w.close();
    await model.close();
    throw error;
  }
  const db = workers[0]!.deps().db;
  await db.collection('customers').insertMany(demoCustomers as never[]);
  const publisher: TestPublisher = await startTestPublisher(config);
  const topics = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'].map(
    (k) => `${config.topicPrefix}.${k}.v1`,
  );
  const events = await EventCollector.start(endpoints, topics, config.mongoDb);
  const taskEvents = (taskId: string): WardenEvent[] =>
    events
      .events()
      .filter((e) => e.taskId === taskId)
      .sort((a, b) => a.seq - b.seq);
  return {
    config,
    db,
    events,
    workspace,
    taskEvents,
    submit: async (taskId, scenario, data = {}, tenantId = 'tenant-demo') => {
      const [encoded] = await publisher.publish(
        newTask(sampleTask({ model: `scripted:${scenario}`, ...data }), {
          tenantId,
          taskId,
          producer: 'demo',
        }),
      );
      return encoded!;
    },
    waitForWholeChain: async (taskId, timeoutMs = 30_000) => {
      await events.waitFor(
        () => {
          const mine = taskEvents(taskId);
          const ids = new Set(mine.map((e) => e.id));
          return mine.length > 0 && ids.size === mine.at(-1)!.seq + 1;
        },
        timeoutMs,
        `the whole chain of task ${taskId}`,
      );
      return taskEvents(taskId);
    },
    waitFor: async (taskId, predicate, timeoutMs = 90_000) => {
      const found = await events.waitFor(
        (es) => es.some((e) => e.taskId === taskId && predicate(e)),
        timeoutMs,
        `an event of task ${taskId}`,
      );
      return found.find((e) => e.taskId === taskId && predicate(e))!;
    },
    close: async () => {
      await events.close();
      await publisher.close();
      for (const w of [...started].reverse()) await w.close();
      await model.close();
      await rm(workspace, { recursive: true, force: true });
    },
  };
}
