import { resolve } from 'node:path';
import { follow, newTask, type EncodedEvent, type EventOf, type WardenEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { connectRuntime, StateLayer, type HandlerContext } from '@warden/runtime';
import {
  EventCollector,
  readStateChangelog,
  startChildWorker,
  startTestPublisher,
  testKafka,
  testWorkerConfig,
  waitUntil,
  type ChildWorker,
} from '@warden/runtime/testing';
import { startScriptedModel } from '@warden/scripted-model/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import {
  OpenTools,
  tenantAllowances,
  tenantBudgetLogOf,
  createOpenAiModel,
  type ModelClient,
  type PlannerRecord,
  createPlannerHandlers,
  createPlannerWorker,
  loadPlannerConfig,
} from '../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const lookUp = (id: string) => ({
  id,
  description: 'one query, then an answer',
  steps: [
    {
      kind: 'tool_call',
      id: 'call_lookup',
      name: 'customers.query',
      arguments: { collection: 'customers', filter: { id: 'c-42' } },
      confidence: 0.9,
      reasoning: 'Look the customer up.',
    },
    { kind: 'answer', content: 'Done.', confidence: 0.9, reasoning: 'Looked up.' },
  ],
});

/** A tenant's figures in the tenant budget log (ADR 0032), folded by a reader of its own: what it has committed. */
async function tenantFigures(topicPrefix: string, tenantId: string) {
  const log = tenantBudgetLogOf(testKafka(stack()), topicPrefix);
  await log.start();
  try {
    return (await log.figures(tenantId)).committed;
  } finally {
    await log.stop();
  }
}

/** Waits until the consumer group has exactly one member and is stable. */
async function groupSettled(groupId: string): Promise<void> {
  const admin = testKafka(stack()).admin();
  await admin.connect();
  try {
    await waitUntil(
      async () => {
        const { groups } = await admin.describeGroups([groupId]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === 1;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `group ${groupId} settled on one member` },
    );
  } finally {
    await admin.disconnect();
  }
}

/** The planner's committed state of a task, read from its changelog (ADR 0029). */
async function plannerState(prefix: string, taskId: string): Promise<PlannerRecord | undefined> {
  const all = await readStateChangelog(testKafka(stack()), `${prefix}.planner-state.v1`);
  return all.get(taskId) as PlannerRecord | undefined;
}

/** A scripted model serving `lookUp(scenario)`, a worker config, a collector of the task's topics and a publisher. */
async function setUp(scenario: string, logLevel: 'error' | 'warn') {
  const model = await startScriptedModel({ scenarios: [lookUp(scenario)] });
  cleanups.push(() => model.close());
  const config = testWorkerConfig(stack(), { logLevel, shutdownGraceMs: 5_000 });
  const env = { OPENAI_BASE_URL: model.baseURL, PLANNER_MODEL_TIMEOUT_MS: '10000' };
  const { settings } = loadPlannerConfig(env);
  const out = await EventCollector.start(
    stack(),
    ['tasks', 'planning', 'proposals', 'results'].map((kind) => `${config.topicPrefix}.${kind}.v1`),
    config.mongoDb,
  );
  cleanups.push(() => out.close());
  const publisher = await startTestPublisher(config);
  cleanups.push(() => publisher.close());
  const submit = (taskId: string) =>
    publisher.publish(
      newTask(sampleTask({ goal: 'Look up c-42', model: `scripted:${scenario}` }), {
        tenantId: 'tenant-a',
        taskId,
        producer: 'test',
      }),
    );
  const taskEvents = (taskId: string): WardenEvent[] => out.events().filter((e) => e.taskId === taskId);
  /** Publishes the executor's result of the task's proposed lookup. */
  const lookUpDone = async (taskId: string): Promise<void> => {
    const decoded = out.messages.find(
      (m) => m.decoded?.event.type === 'ActionProposed' && m.decoded.event.taskId === taskId,
    )!.decoded!;
    const proposal = decoded.event as EventOf<'ActionProposed'>;
    await publisher.publish(
      follow(
        { envelope: decoded.envelope, hash: decoded.hash },
        'ToolSucceeded',
        {
          actionId: proposal.data.actionId,
          tool: proposal.data.tool,
          effectKey: `${taskId}:${proposal.data.actionId}`,
          result: { rows: [{ id: 'c-42', status: 'active' }] },
          durationMs: 3,
        },
        { producer: 'executor@test' },
      ),
    );
  };
  /** Both steps done once each: one proposal and one model call per step, the tenant charged for both. */
  const expectOnePerStep = async (taskId: string): Promise<void> => {
    const events = taskEvents(taskId);
    expect(events.filter((e) => e.type === 'ActionProposed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'AnswerProposed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'ModelCalled')).toHaveLength(2);
    const used = events.reduce((t, e) => t + (e.type === 'ModelResponded' ? e.data.usage.totalTokens : 0), 0);
    expect((await tenantFigures(config.topicPrefix, 'tenant-a')).tokens).toBeGreaterThanOrEqual(used);
  };
  return { model, config, env, settings, out, publisher, submit, taskEvents, lookUpDone, expectOnePerStep };
}

describe('a planner crash between a model call and its commit', () => {
  it('leaves neither outputs nor state: the record read again is planned once more, its first call charged', async () => {
    const { config, settings, out, submit } = await setUp('planner-crash', 'error');
    await submit('crash-1');
    await out.waitFor((es) => es.some((e) => e.type === 'TaskSubmitted'));
    const record = out.messages.find((m) => m.decoded?.event.type === 'TaskSubmitted')!;

    // The first handling calls the model and publishes into a transaction that a crash then aborts: its outputs and
    // its state (written in that same transaction) reach nothing.
    const deps = await connectRuntime('planner', config, pino({ level: 'silent' }));
    cleanups.push(() => deps.mongo.close());
    await deps.codec.registerAll();
    const inner = createOpenAiModel(settings.model);
    cleanups.push(async () => inner.close());
    let modelCalls = 0;
    const countingModel: ModelClient = {
      complete: (request) => {
        modelCalls++;
        return inner.complete(request);
      },
      isOpen: () => inner.isOpen(),
      close: () => undefined,
    };
    const budgetLog = tenantBudgetLogOf(testKafka(stack()), config.topicPrefix);
    await budgetLog.start();
    cleanups.push(() => budgetLog.stop());
    const handlers = createPlannerHandlers(deps, {
      runtime: config,
      settings,
      model: countingModel,
      openTools: new OpenTools(settings.toolBreakerTtlMs),
      // the crashed handling's allowance: never given back (the process dies), charged in full at its TTL
      allowances: tenantAllowances(deps, settings, () => new Date(), budgetLog),
    });
    const aborted: EncodedEvent[] = [];
    const ctx = {
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      attempt: 1,
      hash: record.decoded!.hash,
      source: { topic: record.topic, partition: record.partition, offset: record.message.offset },
      state: new StateLayer<PlannerRecord>(() => undefined).handle('crash-1'),
      publish: async (type: string, data: unknown) => {
        const encoded = await deps.codec.encode({
          ...record.decoded!.envelope,
          id: crypto.randomUUID(),
          type,
          seq: record.decoded!.envelope.seq + 1 + aborted.length,
          prevHashes: [record.decoded!.hash],
          causationId: record.decoded!.envelope.id,
          producer: 'planner@test',
          data,
        } as never);
        aborted.push(encoded);
        return encoded;
      },
    } as unknown as HandlerContext<PlannerRecord>;
    await handlers.TaskSubmitted(record.decoded!.event as EventOf<'TaskSubmitted'>, ctx);
    expect(aborted.map((e) => e.envelope.type)).toContain('ActionProposed');
    expect(modelCalls).toBe(1);

    // The planner restarts and reads the same record again, from the committed state: none for this task.
    const worker = createPlannerWorker({ runtime: config, settings, model: countingModel });
    cleanups.push(() => worker.close());
    await worker.start();
    // The call's events and the proposal travel on two topics, read independently: wait for all three to arrive.
    const seen = (es: readonly WardenEvent[], type: string): boolean =>
      es.some((e) => e.taskId === 'crash-1' && e.type === type);
    const events = await out.waitFor((es) =>
      ['ActionProposed', 'ModelCalled', 'ModelResponded'].every((type) => seen(es, type)),
    );
    await waitUntil(async () => (await plannerState(config.topicPrefix, 'crash-1')) !== undefined, {
      what: 'the task in the planner changelog',
    });
    const visible = events.filter((e: WardenEvent) => e.taskId === 'crash-1' && e.type !== 'TaskSubmitted');
    expect(visible.filter((e) => e.type === 'ActionProposed')).toHaveLength(1);
    expect(visible.filter((e) => e.type === 'ModelCalled')).toHaveLength(1);
    // The model was called again (the aborted call is a side effect outside Kafka). The task's budget is in its
    // state (ADR 0031), written with the aborted outputs: it counts the committed call only. The tenant's budget
    // counts both calls: the crash window's bound (ADR 0031).
    expect(modelCalls).toBe(2);
    const responded = visible.filter((e) => e.type === 'ModelResponded');
    const used = responded.reduce((t, e) => t + (e.data as { usage: { totalTokens: number } }).usage.totalTokens, 0);
    const aborted1 = aborted.find((e) => e.envelope.type === 'ModelResponded')!;
    const abortedUsed = (aborted1.envelope.data as { usage: { totalTokens: number } }).usage.totalTokens;
    const state = await plannerState(config.topicPrefix, 'crash-1');
    expect(state).toMatchObject({
      task: { status: 'waiting', steps: 1, pending: { kind: 'action', tool: 'customers.query' } },
    });
    expect(state !== undefined && 'task' in state ? state.task.budget?.tokens : undefined).toBe(used);
    expect((await tenantFigures(config.topicPrefix, 'tenant-a')).tokens).toBeGreaterThanOrEqual(used + abortedUsed);
  });
});

describe('a planner SIGKILLed after a step committed', () => {
  const fixture = resolve(import.meta.dirname, 'fixtures/planner-child.ts');
  const children: ChildWorker[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill();
  });

  it("is followed by a new owner that restores the task's state from the changelog and goes on", async () => {
    const { config, env, out, submit, taskEvents, lookUpDone, expectOnePerStep } = await setUp('planner-kill', 'warn');
    const start = async (): Promise<ChildWorker> => {
      const child = await startChildWorker(fixture, { runtime: config, env }, { readyTimeoutMs: 90_000 });
      children.push(child);
      return child;
    };
    const first = await start();
    const taskId = 'kill-1';
    await submit(taskId);
    await out.waitFor(() => taskEvents(taskId).some((e) => e.type === 'ActionProposed'), 60_000);
    await waitUntil(async () => (await plannerState(config.topicPrefix, taskId)) !== undefined, {
      timeoutMs: 30_000,
      what: () => `the task in the planner changelog:\n${first.output()}`,
    });
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await start();
    // The killed member leaves the group at its session timeout; a rebalance then would abort the new owner's
    // handling in flight (ADR 0028) and its model call would be made again (charged, never visible: ADR 0029).
    // Waiting for the group to settle on the new owner keeps this test about the restore.
    await groupSettled(`${config.topicPrefix}.planner`);
    await lookUpDone(taskId); // the executor's result, handled by the new owner
    await out.waitFor(() => taskEvents(taskId).some((e) => e.type === 'AnswerProposed'), 150_000);

    // One proposal per step and one model call per step: the new owner knew the task (its state restored from the
    // changelog), neither planned it again nor called the model for the step already done.
    await expectOnePerStep(taskId);
    expect(await plannerState(config.topicPrefix, taskId)).toMatchObject({
      task: { status: 'waiting', steps: 2, pending: { kind: 'answer', answer: 'Done.' } },
    });
    second.child.kill('SIGTERM');
    await second.exited;
  }, 300_000);
});

describe('a rebalance that moves a task to another planner', () => {
  it('has the new owner restore the task from the changelog: one model call and one proposal per step', async () => {
    const { config, settings, out, submit, taskEvents, lookUpDone, expectOnePerStep } = await setUp(
      'planner-move',
      'error',
    );
    const taskId = 'move-1';
    // The first planner plans step 1 alone; a second one joins (the group rebalances), then the first leaves: every
    // partition ends with the second, which never handled this task.
    const first = createPlannerWorker({ runtime: config, settings });
    cleanups.push(() => first.close());
    await first.start();
    await submit(taskId);
    await out.waitFor(() => taskEvents(taskId).some((e) => e.type === 'ActionProposed'), 60_000);
    const second = createPlannerWorker({ runtime: config, settings });
    cleanups.push(() => second.close());
    await second.start();
    await first.close();
    await groupSettled(`${config.topicPrefix}.planner`);

    await lookUpDone(taskId);
    await out.waitFor(() => taskEvents(taskId).some((e) => e.type === 'AnswerProposed'), 60_000);
    await expectOnePerStep(taskId);
  }, 180_000);
});
