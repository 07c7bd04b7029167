/**
 * The whole agent loop in one process, for the demo and the end-to-end tests: the bundled scripted model (an
 * OpenAI-compatible server), the planner, the guard, the executor and the escalation service (people's API on
 * `peoplePort`, decisions signed with the stack's key), each the same worker its main.ts starts,
 * configured through its own loadConfig, all on one test topic prefix and database of the real stack.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  newTask,
  parseSigningKey,
  parseVerifyingKeys,
  type EncodedEvent,
  type EventDraft,
  type EventDataInput,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createEscalationService } from '@warden/escalation';
import { createExecutorWorker, executorDemoTools, loadExecutorConfig } from '@warden/executor';
import { createGuardWorker } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { createPlannerWorker, loadPlannerConfig } from '@warden/planner';
import {
  grantKafkaAcls,
  kafkaSecurityOf,
  readKafkaUsersFile,
  type KafkaPrincipal,
  type Worker,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import {
  EventCollector,
  startTestPublisher,
  testKafka,
  testWorkerConfig,
  waitUntil,
  type TestEndpoints,
  type TestPublisher,
} from '@warden/runtime/testing';
import { startScriptedModel } from '@warden/scripted-model/testing';
import type { Db } from 'mongodb';
import { DEMO_CUSTOMERS } from '../cli/src/demo/scenarios.js';
import { ensureDecisionKeys, ensureGuardKeys, ensureProducerKeys } from './stack/decision-keys.js';

/** The people's API of a pipeline: its address and a token of an approver (and admin) of the demo tenant. */
export interface PeopleApi {
  readonly url: string;
  readonly token: string;
}

type EscalationShown = Pick<EventDataInput<'EscalationRequested'>, 'action' | 'answer' | 'policyVersion'>;

/** A running pipeline. */
export interface Pipeline {
  readonly config: WorkerRuntimeConfig;
  readonly db: Db;
  readonly events: EventCollector;
  /** The executor's workspace (files.read and files.write work below it). */
  readonly workspace: string;
  /** The escalation service's API, where a person approves or denies what the guard escalated. */
  readonly people: PeopleApi;
  /** The running workers: guard, executor, planner, escalation (their /metrics at httpAddress()). */
  readonly workers: readonly Worker[];
  /**
   * Approves, through the people's API, the task's pending escalation of `actionId` as the person would (with the
   * args hash and policy version shown); returns the HumanApproved's event id.
   */
  approve(taskId: string, escalationId: string, comment?: string): Promise<string>;
  /**
   * Publishes events as they are (forged input, in tests of what the workers refuse), as a compromised planner would:
   * the one worker besides the guard and the escalation service whose Kafka principal may write the verdicts topic
   * (ADR 0019), so that a forged verdict reaches the executor and its own checks are what refuse it.
   */
  publish(...drafts: EventDraft[]): Promise<EncodedEvent[]>;
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

/** Settings of a pipeline that tests change. */
export interface PipelineOptions {
  /** How long the guard's escalations wait for a person (default one hour); a test of expiry makes it short. */
  readonly guardEscalationTtlMs?: number;
  /** Extra executor settings, as environment variables (e.g. EXECUTOR_SEALING). */
  readonly executorEnv?: Readonly<Record<string, string>>;
  /**
   * Runs with the pipeline's configuration (topic prefix, database) before any worker starts: a bench leaves
   * behind what earlier tasks would have (documents, changelog records) so that the workers start on them.
   */
  readonly beforeStart?: (config: WorkerRuntimeConfig) => Promise<void>;
  /** The workers' kafkajs coordinator lookups (ADR 0036; default: per transaction, as deployed). */
  readonly coordinatorLookups?: 'per-transaction' | 'kafkajs';
}

/** Starts the pipeline against the stack's endpoints. */
export async function startPipeline(
  endpoints: TestEndpoints,
  logLevel = 'warn',
  peoplePort = 0,
  options: PipelineOptions = {},
): Promise<Pipeline> {
  // The stack's decision keys: the escalation service signs, the executor and the planner hold the public key.
  const keys = ensureDecisionKeys();
  // The stack's guard keys: the guard signs its verdicts, the executor holds the public key (ADR 0018).
  const guardKeys = ensureGuardKeys();
  // Each worker signs what it produces with its role's producer key (ADR 0018).
  const producerKeys = ensureProducerKeys();
  const config = testWorkerConfig(endpoints, {
    logLevel,
    decisionTrust: { keys: parseVerifyingKeys(keys.verifyingKeyText), insecureAcceptUnsigned: false },
    ...(options.coordinatorLookups === undefined ? {} : { coordinatorLookups: options.coordinatorLookups }),
  });
  // On a stack with one Kafka principal per worker (ADR 0019), each worker runs as its own, with the ACLs of this
  // run's topic prefix; the tasks are submitted as the client.
  const users = endpoints.kafkaUsersFile === undefined ? undefined : readKafkaUsersFile(endpoints.kafkaUsersFile);
  if (users !== undefined) {
    const admin = testKafka(endpoints).admin();
    await admin.connect();
    try {
      await grantKafkaAcls(admin, config.topicPrefix);
    } finally {
      await admin.disconnect();
    }
  }
  /** A worker's config: its Kafka principal (when the stack has them) and its role's producer key (ADR 0018). */
  const as = (role: keyof typeof producerKeys, principal: KafkaPrincipal): WorkerRuntimeConfig => ({
    ...(users === undefined ? config : { ...config, kafkaSecurity: kafkaSecurityOf(users, principal) }),
    producerKey: parseSigningKey(producerKeys[role].signingKeyText),
  });
  await options.beforeStart?.(config);
  const token = `demo-${randomBytes(16).toString('hex')}`;
  const model = await startScriptedModel();
  const workspace = await mkdtemp(join(tmpdir(), 'warden-pipeline-'));
  const env = {
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    MONGO_URL: endpoints.mongoUrl,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'scripted',
    EXECUTOR_WORKSPACE_ROOT: workspace,
    WARDEN_GUARD_PUBLIC_KEYS: guardKeys.verifyingKeyText,
  };
  const executorConfig = loadExecutorConfig({ ...env, ...options.executorEnv });
  const plannerConfig = loadPlannerConfig(env);
  const workers: Worker[] = [
    createGuardWorker({
      runtime: as('guard', 'guard'),
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: options.guardEscalationTtlMs ?? 3_600_000,
      signingKey: parseSigningKey(guardKeys.signingKeyText),
    }),
    createExecutorWorker({
      runtime: as('executor', 'executor'),
      settings: executorConfig.settings,
      tools: (deps) => executorDemoTools(deps, executorConfig.stores, executorConfig.settings),
    }),
    createPlannerWorker({ runtime: as('planner', 'planner'), settings: plannerConfig.settings }),
  ];
  const escalation = createEscalationService({
    config: {
      runtime: as('escalation', 'escalation'),
      httpPort: peoplePort,
      httpHost: '127.0.0.1',
      signingKey: parseSigningKey(keys.signingKeyText),
      staticTokens: [{ token, subject: 'demo-approver', roles: ['approver', 'admin'], tenants: ['tenant-demo'] }],
      decisionTtlMs: 900_000,
      expiryCheckMs: 500,
    },
  });
  workers.push(escalation);
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
  const publisher: TestPublisher = await startTestPublisher(as('submitter', 'client'));
  const forger: TestPublisher = await startTestPublisher(as('planner', 'planner'));
  const topics = ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'].map(
    (k) => `${config.topicPrefix}.${k}.v1`,
  );
  const events = await EventCollector.start(endpoints, topics, config.mongoDb);
  const taskEvents = (taskId: string): WardenEvent[] =>
    events
      .events()
      .filter((e) => e.taskId === taskId)
      .sort((a, b) => a.seq - b.seq);
  const address = escalation.apiAddress()!;
  const people: PeopleApi = { url: `http://${address.host}:${address.port}`, token };
  return {
    config,
    db,
    events,
    workspace,
    people,
    workers: started,
    approve: async (taskId, escalationId, comment = 'approved in the demo') => {
      const path = `${people.url}/tasks/${encodeURIComponent(taskId)}/escalations/${encodeURIComponent(escalationId)}`;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const shown = await waitUntil(
        async () => {
          const res = await fetch(path, { headers });
          return res.status === 200 ? ((await res.json()) as { requested: EscalationShown }) : undefined;
        },
        { what: `escalation ${escalationId} in the people's API` },
      );
      const held = shown.requested;
      const res = await fetch(`${path}/approve`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          argsHash: held.action?.argsHash ?? held.answer?.argsHash,
          policyVersion: held.policyVersion,
          comment,
        }),
      });
      const body = (await res.json()) as { eventId?: string; message?: string };
      if (res.status !== 200 || body.eventId === undefined)
        throw new Error(`approval of ${escalationId} refused: ${res.status} ${body.message ?? ''}`);
      return body.eventId;
    },
    taskEvents,
    publish: (...drafts) => forger.publish(...drafts),
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
      await forger.close();
      for (const w of [...started].reverse()) await w.close();
      await model.close();
      await rm(workspace, { recursive: true, force: true });
    },
  };
}
