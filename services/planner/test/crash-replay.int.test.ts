import { newTask, type EncodedEvent, type EventOf, type WardenEvent } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { connectRuntime, type HandlerContext } from '@warden/runtime';
import { EventCollector, startTestPublisher, testWorkerConfig } from '@warden/runtime/testing';
import { startScriptedModel } from '@warden/scripted-model/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import {
  OpenTools,
  createOpenAiModel,
  type ModelClient,
  createPlannerHandlers,
  createPlannerWorker,
  loadPlannerConfig,
} from '../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const lookUp = {
  id: 'planner-crash',
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
};

describe('a planner crash between saving a task and committing its outputs', () => {
  it('publishes the recorded outputs when the same record is read again, without calling the model again', async () => {
    const model = await startScriptedModel({ scenarios: [lookUp] });
    cleanups.push(() => model.close());
    const config = testWorkerConfig(stack(), { logLevel: 'error' });
    const { settings } = loadPlannerConfig({ OPENAI_BASE_URL: model.baseURL, PLANNER_MODEL_TIMEOUT_MS: '10000' });
    const topic = (kind: string): string => `${config.topicPrefix}.${kind}.v1`;
    const out = await EventCollector.start(
      stack(),
      [topic('tasks'), topic('planning'), topic('proposals')],
      config.mongoDb,
    );
    cleanups.push(() => out.close());
    const publisher = await startTestPublisher(config);
    cleanups.push(() => publisher.close());
    await publisher.publish(
      newTask(sampleTask({ goal: 'Look up c-42', model: 'scripted:planner-crash' }), {
        tenantId: 'tenant-a',
        taskId: 'crash-1',
        producer: 'test',
      }),
    );
    const submitted = await out.waitFor((es) => es.some((e) => e.type === 'TaskSubmitted'));
    const record = out.messages.find((m) => m.decoded?.event.type === 'TaskSubmitted')!;
    expect(submitted.length).toBeGreaterThan(0);

    // The first handling: it calls the model, saves the task's state, publishes into a transaction that a crash
    // then aborts (nothing reaches Kafka).
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
    const handlers = createPlannerHandlers(deps, {
      runtime: config,
      settings,
      model: countingModel,
      openTools: new OpenTools(settings.toolBreakerTtlMs),
    });
    const aborted: EncodedEvent[] = [];
    const ctx = {
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      attempt: 1,
      hash: record.decoded!.hash,
      source: { topic: record.topic, partition: record.partition, offset: record.message.offset },
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
    } as unknown as HandlerContext;
    await handlers.TaskSubmitted(record.decoded!.event as EventOf<'TaskSubmitted'>, ctx);
    const firstProposal = aborted.find((e) => e.envelope.type === 'ActionProposed');
    expect(firstProposal, 'the first handling proposed the lookup').toBeDefined();
    expect(modelCalls).toBe(1);

    // The planner restarts and reads the same record again.
    const worker = createPlannerWorker({ runtime: config, settings, model: countingModel });
    cleanups.push(() => worker.close());
    await worker.start();
    // topics arrive independently: wait for the whole replayed handling (as many events as the first one made)
    const events = await out.waitFor(
      (es) => es.filter((e) => e.taskId === 'crash-1' && e.type !== 'TaskSubmitted').length >= aborted.length,
    );
    const replayed = events
      .filter((e) => e.taskId === 'crash-1' && e.type !== 'TaskSubmitted')
      .sort((a, b) => a.seq - b.seq);
    expect(replayed.map((e) => e.type)).toEqual(aborted.map((e) => e.envelope.type));
    const proposals = events.filter((e): e is EventOf<'ActionProposed'> => e.type === 'ActionProposed');
    expect(proposals).toHaveLength(1);
    expect(proposals[0]!.data.actionId).toBe((firstProposal!.envelope.data as { actionId: string }).actionId);
    expect(proposals[0]!.data.argsHash).toBe((firstProposal!.envelope.data as { argsHash: string }).argsHash);
    const planning = events.filter((e: WardenEvent) => e.taskId === 'crash-1' && e.type === 'ModelCalled');
    expect(planning).toHaveLength(1);
    expect(modelCalls, 'the model was not called again').toBe(1);
    // The replayed outputs chain to the consumed record, like any handling's.
    expect(replayed[0]!.causationId).toBe(record.decoded!.envelope.id);
    expect(replayed[0]!.prevHashes).toEqual([record.decoded!.hash]);
  });
});
