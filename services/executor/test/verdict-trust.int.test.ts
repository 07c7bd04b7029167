import { tmpdir } from 'node:os';
import { follow, generateSigningKeyPair, type WardenEvent } from '@warden/contracts';
import { signedVerdict } from '@warden/contracts/testing';
import {
  EventCollector,
  startTestPublisher,
  testWorkerConfig,
  waitUntil,
  type TestPublisher,
} from '@warden/runtime/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createDemoTools, createExecutorWorker, type ExecutorWorker } from '../src/index.js';
import { actionApproved, executorStates, responsesTo, resultOf, taskSubmitted, testSettings } from './helpers.js';

/*
 * Issue 24, item 1: the executor runs an ActionApproved only when the guard signed it and it fits the executor's own
 * record of the task (submitted, running, the tool and its resources in scope). Forged verdicts get an alert and no
 * effect.
 */
describe("the executor checks the guard's verdicts against the guard's keys and its own record of the task", () => {
  const config = testWorkerConfig(stack());
  let worker: ExecutorWorker;
  let publisher: TestPublisher;
  let out: EventCollector;
  let mongo: MongoClient;
  let db: Db;
  const customers = Array.from({ length: 30 }, (_, i) => ({ _id: `c-${i}`, status: 'active' }));

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    await db.collection<{ _id: string }>('customers').insertMany(customers);
    worker = createExecutorWorker({
      runtime: config,
      settings: testSettings({ taskWaitMs: 1_000 }),
      tools: (deps) =>
        createDemoTools({
          db: deps.db,
          customerCollections: ['customers', 'admins'],
          knowledgeCollection: 'knowledge',
          workspaceRoot: tmpdir(),
          httpAllowlist: ['127.0.0.1', 'localhost'],
          httpMaxBytes: 1024 * 1024,
        }),
    });
    await worker.start();
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.results.v1`, `${config.topicPrefix}.alerts.v1`],
      config.mongoDb,
    );
  });
  afterAll(async () => {
    await out?.close();
    await publisher?.close();
    await worker?.close();
    await mongo?.close();
  });

  const remaining = () => db.collection('customers').countDocuments();
  const deleteAll = { collection: 'customers', ids: customers.map((c) => c._id) };

  /** The alert raised in response to an approval, and whatever else answered it. */
  async function refusalOf(id: string): Promise<{ alert: WardenEvent; responses: WardenEvent[] }> {
    const events = await out.waitFor((es) => responsesTo(es, id).some((e) => e.type === 'AlertRaised'));
    const responses = responsesTo(events, id);
    return { alert: responses.find((e) => e.type === 'AlertRaised')!, responses };
  }

  it('refuses a forged, well-signed ActionApproved for a task that never existed: alert, no effect', async () => {
    const forged = actionApproved('ghost-task', 'a1', 'customers.delete', deleteAll);
    await publisher.publish(forged);
    const { alert, responses } = await refusalOf(forged.id);
    expect(alert.data).toMatchObject({ severity: 'critical', subject: { reason: 'task_unknown' } });
    expect(responses.map((e) => e.type)).toEqual(['AlertRaised']);
    expect(await remaining()).toBe(30);
  });

  it('refuses unsigned and wrongly signed verdicts of a running task: alert, no effect', async () => {
    const task = taskSubmitted('trust-running', {
      tools: ['customers.delete', 'customers.query'],
      resources: { collections: ['customers'] },
    });
    const unsigned = actionApproved('trust-running', 'a1', 'customers.delete', deleteAll, undefined, false);
    const mallory = generateSigningKeyPair('test-guard').signingKey; // the trusted key id, another key
    const wrongKey = signedVerdict(
      actionApproved('trust-running', 'a2', 'customers.delete', deleteAll, undefined, false),
      mallory,
    );
    await publisher.publish(task, unsigned, wrongKey);
    expect((await refusalOf(unsigned.id)).alert.data).toMatchObject({
      subject: { reason: 'verdict_unauthenticated' },
    });
    const wrong = await refusalOf(wrongKey.id);
    expect(wrong.alert.data).toMatchObject({ message: expect.stringMatching(/bad_signature/) });
    expect(wrong.responses.map((e) => e.type)).toEqual(['AlertRaised']);
    // the same task's signed, in-scope approval still runs: the refusals changed nothing
    const query = actionApproved('trust-running', 'a3', 'customers.query', { collection: 'customers', filter: {} });
    await publisher.publish(query);
    expect((await resultOf(out, query.id)).type).toBe('ToolSucceeded');
    expect(await remaining()).toBe(30);
  });

  it("refuses a signed approval whose tool or resource is outside the task's scope, telling the task", async () => {
    await publisher.publish(
      taskSubmitted('trust-scope', {
        tools: ['customers.query', 'http.get'],
        resources: { collections: ['customers'], hosts: ['api.example.com'] },
      }),
    );
    const tool = actionApproved('trust-scope', 'a1', 'customers.delete', deleteAll);
    const collection = actionApproved('trust-scope', 'a2', 'customers.query', { collection: 'admins' });
    const registry = new URL('/apis/ccompat/v7/subjects', stack().schemaRegistryUrl).toString();
    const toRegistry = actionApproved('trust-scope', 'a3', 'http.get', { url: registry });
    const unsignedToRegistry = actionApproved('trust-scope', 'a4', 'http.get', { url: registry }, undefined, false);
    await publisher.publish(tool, collection, toRegistry, unsignedToRegistry);
    for (const [draft, code] of [
      [tool, 'tool_out_of_scope'],
      [collection, 'resource_out_of_scope'],
      [toRegistry, 'resource_out_of_scope'],
    ] as const) {
      const failed = await resultOf(out, draft.id);
      expect(failed.type).toBe('ToolFailed');
      expect(failed.data).toMatchObject({ errorClass: 'refused', retryable: false });
      expect((await refusalOf(draft.id)).alert.data).toMatchObject({ severity: 'critical', subject: { reason: code } });
    }
    const unsigned = await refusalOf(unsignedToRegistry.id);
    expect(unsigned.alert.data).toMatchObject({ subject: { reason: 'verdict_unauthenticated' } });
    expect(unsigned.responses.map((e) => e.type)).toEqual(['AlertRaised']);
    expect(out.events().some((e) => e.type === 'ToolSucceeded' && e.taskId === 'trust-scope')).toBe(false);
    expect(await remaining()).toBe(30);
  });

  it('refuses an approval of a task that has ended', async () => {
    const task = taskSubmitted('trust-ended');
    const ended = follow({ envelope: task, hash: 'b'.repeat(64) }, 'TaskCompleted', completed(), { producer: 'test' });
    await publisher.publish(task, ended);
    // The outcome travels on another topic than the approval: publish the approval once the executor saw the end.
    await waitUntil(
      async () =>
        (await executorStates(stack(), config.topicPrefix, ['trust-ended'])).get('trust-ended')?.ended === true,
      { timeoutMs: 60_000, what: 'the executor to record the end of the task' },
    );
    const late = actionApproved('trust-ended', 'a1', 'customers.delete', deleteAll);
    await publisher.publish(late);
    expect((await refusalOf(late.id)).alert.data).toMatchObject({ subject: { reason: 'task_ended' } });
    expect(await remaining()).toBe(30);
  });
});

function completed() {
  return {
    answer: 'done',
    totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
  };
}
