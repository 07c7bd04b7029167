import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  EventCollector,
  startChildWorker,
  startTestPublisher,
  testWorkerConfig,
  waitUntil,
  type ChildWorker,
  type TestPublisher,
} from '@warden/runtime/testing';
import { Partitioners } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { testGuardKeys } from '@warden/contracts/testing';
import { actionApproved, executorStates, responsesTo, resultOf, taskSubmitted, testSettings } from './helpers.js';

const fixture = resolve(import.meta.dirname, 'fixtures/executor-child.ts');

/** Starts the executor as a process and waits until it runs. */
async function startChild(config: unknown, children: ChildWorker[]): Promise<ChildWorker> {
  const started = await startChildWorker(fixture, config, { readyTimeoutMs: 90_000 });
  children.push(started);
  return started;
}

/** Task ids whose messages land on distinct partitions of a 3-partition topic (so each pause blocks only itself). */
function tasksOnDistinctPartitions(prefix: string, count: number): string[] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < count; i++) {
    const id = `${prefix}-${i}`;
    const p = partitioner({ topic: 'verdicts', partitionMetadata, message: { key: id, value: null } });
    if (!byPartition.has(p)) byPartition.set(p, id);
  }
  return [...byPartition.values()];
}

describe('a crash between dispatch and commit', () => {
  const config = testWorkerConfig(stack(), { logLevel: 'warn', shutdownGraceMs: 5_000 });
  let mongo: MongoClient;
  let db: Db;
  let workspace: string;
  let publisher: TestPublisher;
  let out: EventCollector;
  const children: ChildWorker[] = [];

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    await db.collection<{ _id: string }>('customers').insertOne({ _id: 'c-9', status: 'active' } as never);
    workspace = await mkdtemp(join(tmpdir(), 'warden-crash-'));
    await writeFile(join(workspace, 'old.log'), 'old');
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.results.v1`, `${config.topicPrefix}.alerts.v1`, `${config.topicPrefix}.verdicts.v1`],
      config.mongoDb,
    );
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await out?.close();
    await publisher?.close();
    await mongo?.close();
  });

  it('SIGKILLed at dispatch or before commit, a restarted executor counts each effect exactly once', async () => {
    const [mailTask, updateTask, deleteTask] = tasksOnDistinctPartitions('crash', 3) as [string, string, string];
    const mailKey = `${mailTask}:a1`;
    const updateKey = `${updateTask}:a1`;
    const deleteKey = `${deleteTask}:a1`;
    const childConfig = {
      runtime: config,
      settings: testSettings({ defaultTimeoutMs: 2_000 }),
      stores: {
        customerCollections: ['customers'],
        knowledgeCollection: 'knowledge',
        workspaceRoot: workspace,
        httpAllowlist: ['127.0.0.1'],
        httpAllowedRanges: ['127.0.0.1/32'], // the local test server
        httpMaxBytes: 1024 * 1024,
      },
      pause: { [mailKey]: 'beforeCommit', [updateKey]: 'afterDispatch', [deleteKey]: 'beforeCommit' },
      guardPublicKeys: testGuardKeys.verifyingKeyText,
    };
    const first = await startChild(childConfig, children);

    const mail = actionApproved(mailTask, 'a1', 'email.send', { to: ['ada@example.com'], subject: 'Hi', body: 'Once' });
    const update = actionApproved(updateTask, 'a1', 'customers.update', {
      collection: 'customers',
      id: 'c-9',
      set: { status: 'suspended' },
    });
    const del = actionApproved(deleteTask, 'a1', 'files.delete', { paths: ['old.log'] });
    // The tasks first, recorded before any approval is fetched. An approval fetched before its TaskSubmitted would
    // wait in the task's state without holding a handler (ADR 0028), but this test pauses the approvals on purpose,
    // and kafkajs fetches again only once every batch of a fetch is handled: a TaskSubmitted left for a later fetch
    // would never be read before the kill.
    await publisher.publish(...[mailTask, updateTask, deleteTask].map((id) => taskSubmitted(id)));
    await waitUntil(
      async () =>
        [...(await executorStates(stack(), config.topicPrefix, [mailTask, updateTask, deleteTask])).values()].filter(
          (s) => s.submittedEventId !== undefined,
        ).length === 3,
      { timeoutMs: 60_000, what: () => `the three tasks recorded by the executor:\n${first.output()}` },
    );
    await publisher.publish(mail, update, del);
    await waitUntil(() => [mailKey, updateKey, deleteKey].every((k) => first.output().includes(`PAUSED ${k}`)), {
      timeoutMs: 90_000,
      what: () => `all three effects paused:\n${first.output()}`,
    });
    first.child.kill('SIGKILL');
    await first.exited;

    // At the kill: the mail was sent and the file deleted (outcomes not recorded); the update was not made.
    expect(await db.collection('outbox_emails').countDocuments({ _id: mailKey } as never)).toBe(1);
    expect(await db.collection('customers').countDocuments({ _id: 'c-9', status: 'active' } as never)).toBe(1);
    await expect(access(join(workspace, 'old.log'))).rejects.toThrow();
    expect(out.events().filter((e) => e.type === 'ToolSucceeded' || e.type === 'ToolFailed')).toEqual([]);

    const second = await startChild({ ...childConfig, pause: {} }, children);
    const mailResult = await resultOf(out, mail.id, 150_000);
    const updateResult = await resultOf(out, update.id, 150_000);
    const deleteResult = await resultOf(out, del.id, 150_000);

    // verify() found the mail: succeeded, one message in the outbox.
    expect(mailResult.type).toBe('ToolSucceeded');
    expect(mailResult.data).toMatchObject({ effectKey: mailKey, result: { messageId: mailKey } });
    expect(await db.collection('outbox_emails').countDocuments({ _id: mailKey } as never)).toBe(1);
    // verify() found no update: dispatched again, applied once.
    expect(updateResult.type).toBe('ToolSucceeded');
    const customer = await db
      .collection<{ _id: string; status: string; _effects: string[] }>('customers')
      .findOne({ _id: 'c-9' });
    expect(customer).toMatchObject({ status: 'suspended', _effects: [updateKey] });
    // files.delete cannot verify: outcome unknown, an alert and a person asked.
    expect(deleteResult.data).toMatchObject({ errorClass: 'outcome_unknown', retryable: false });
    const escalated = await out.waitFor((es) =>
      ['AlertRaised', 'EscalationRequested'].every((t) => responsesTo(es, del.id).some((e) => e.type === t)),
    );
    expect(responsesTo(escalated, del.id).find((e) => e.type === 'EscalationRequested')?.data).toMatchObject({
      source: 'executor',
      reasonCode: 'outcome_unknown',
    });
    // One result per approval: nothing from the killed process, nothing twice.
    for (const d of [mail, update, del]) {
      const results = responsesTo(out.events(), d.id).filter(
        (e) => e.type === 'ToolSucceeded' || e.type === 'ToolFailed',
      );
      expect(results).toHaveLength(1);
    }
    second.child.kill('SIGTERM');
    await second.exited;
  }, 300_000);
});
