/**
 * The guard's event-time join on the real stack (ADR 0027): a proposal consumed before its task's TaskSubmitted
 * waits in the task's state (visible in the guard's changelog) and is judged when the TaskSubmitted arrives, by the
 * handler of that event: with a deadline of ten minutes, nothing else could have judged it within the test.
 */
import { readFileSync } from 'node:fs';
import { canonicalHash, follow, newTask } from '@warden/contracts';
import { sampleProposal, sampleTask, testGuardKeys } from '@warden/contracts/testing';
import { createGuardWorker, GuardTaskState } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE } from '@warden/policy';
import { Topics, type Worker } from '@warden/runtime';
import {
  EventCollector,
  readStateChangelog,
  startTestPublisher,
  testKafka,
  testWorkerConfig,
  waitUntil,
  type TestPublisher,
} from '@warden/runtime/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';

/** The latest committed value of a task in the guard's state changelog (undefined: none, or deleted). */
async function latestState(kafka: Kafka, topic: string, taskId: string): Promise<GuardTaskState | undefined> {
  const value = (await readStateChangelog(kafka, topic)).get(taskId);
  return value === undefined ? undefined : GuardTaskState.parse(value);
}

describe("the guard's event-time join on the real stack", () => {
  const config = testWorkerConfig(stack());
  const kafka = testKafka(stack());
  const changelog = new Topics(config.topicPrefix).stateOf('guard');
  let worker: Worker;
  let publisher: TestPublisher;
  let out: EventCollector;

  beforeAll(async () => {
    worker = createGuardWorker({
      runtime: config,
      policySource: JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown,
      escalationTtlMs: 3_600_000,
      signingKey: testGuardKeys.signingKey,
      causeWaitMs: 600_000, // only the TaskSubmitted's arrival can release the proposal within this test
    });
    await worker.start();
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(stack(), [`${config.topicPrefix}.verdicts.v1`], config.mongoDb);
  });
  afterAll(async () => {
    await out.close();
    await publisher.close();
    await worker.close();
  });

  it('judges a proposal that arrived before its TaskSubmitted once the task arrives, and evicts the task at its end', async () => {
    const taskId = 'join-late-task';
    const task = newTask(sampleTask({ input: { orderId: '1001', customerId: 'c-42', amountUsd: 25 } }), {
      tenantId: 'tenant-a',
      taskId,
      producer: 'test',
    });
    const proposal = follow({ envelope: task, hash: canonicalHash(task) }, 'ActionProposed', sampleProposal(), {
      producer: 'test',
    });
    await publisher.publish(proposal);
    // The proposal waits in the task's state, committed to the changelog with the proposal's offset.
    const waiting = await waitUntil(
      async () => {
        const state = await latestState(kafka, changelog, taskId);
        return state !== undefined && state.pending.length === 1 ? state : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the proposal waiting in the changelog' },
    );
    expect(waiting.task).toBeUndefined();
    expect(waiting.pending[0]!.event.id).toBe(proposal.id);
    expect(out.events().filter((e) => e.causationId === proposal.id)).toEqual([]);

    await publisher.publish(task);
    const events = await out.waitFor((es) => es.some((e) => e.causationId === proposal.id), 30_000, 'the verdict');
    const verdicts = events.filter((e) => e.causationId === proposal.id);
    expect(verdicts.map((e) => e.type)).toEqual(['ActionApproved']);
    expect(verdicts[0]!.seq).toBe(proposal.seq + 1);
    const after = await latestState(kafka, changelog, taskId);
    expect(after?.pending).toEqual([]);
    expect(after?.task).toBeDefined();

    // The task's end evicts its state: a tombstone in the changelog.
    const [submitted] = await publisher.publish(
      follow(
        { envelope: task, hash: canonicalHash(task) },
        'TaskCompleted',
        {
          answer: 'done',
          totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
        },
        { producer: 'test' },
      ),
    );
    expect(submitted).toBeDefined();
    await waitUntil(async () => (await readStateChangelog(kafka, changelog)).has(taskId) === false, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the task's state tombstoned at its end",
    });
  });
});
