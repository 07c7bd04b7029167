import { follow, parseSigningKey, type EncodedEvent, type EventDraft } from '@warden/contracts';
import { ensureProducerKeyFiles, type WorkerRuntimeConfig } from '@warden/runtime';
import {
  EventCollector,
  createTestTopics,
  startTestPublisher,
  testWorkerConfig,
  type TestPublisher,
} from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

const totals = { steps: 1, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, costUsd: 0 };

/**
 * Issue 24, item 6: every event carries its producer's signature (a Kafka header over its hash), and `warden verify`
 * checks producers as well as links, so that in a copy of the topics an appended, well-chained forged event and a
 * rewritten last event are found (neither breaks a hash link).
 */
describe('warden verify checks who produced each event', () => {
  const env = testEnv('cli-producers');
  // The installation's producer keys: the CLI signs its TaskSubmitted as the submitter and verifies with all of them.
  const keys = ensureProducerKeyFiles(env.WARDEN_CACHE_DIR!);
  const base: Partial<WorkerRuntimeConfig> = {
    topicPrefix: env.WARDEN_TOPIC_PREFIX!,
    mongoDb: env.MONGO_DB!,
    subjectPrefix: env.WARDEN_SUBJECT_PREFIX!,
  };
  let planner: TestPublisher;
  let guard: TestPublisher;
  let anonymous: TestPublisher;
  let tasks: EventCollector;

  beforeAll(async () => {
    await createTestTopics(stack(), env.WARDEN_TOPIC_PREFIX!);
    const as = (role: 'planner' | 'guard') =>
      testWorkerConfig(stack(), { ...base, producerKey: parseSigningKey(keys[role].signingKeyText) });
    planner = await startTestPublisher(as('planner'));
    guard = await startTestPublisher(as('guard'));
    anonymous = await startTestPublisher(testWorkerConfig(stack(), base));
    tasks = await EventCollector.start(stack(), [`${env.WARDEN_TOPIC_PREFIX!}.tasks.v1`], env.MONGO_DB);
  });
  afterAll(async () => {
    await planner?.close();
    await guard?.close();
    await anonymous?.close();
    await tasks?.close();
  });

  /** Submits a task through the CLI (signed as the submitter); returns its TaskSubmitted's chain link. */
  async function submitted(goal: string): Promise<{ taskId: string; link: Parameters<typeof follow>[0] }> {
    const run = await warden(['submit', '--goal', goal, '--tools', 'customers.query', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const { taskId } = JSON.parse(run.stdout) as { taskId: string };
    await tasks.waitFor((es) => es.some((e) => e.taskId === taskId));
    const decoded = tasks.messages.find((m) => m.decoded?.event.taskId === taskId)!.decoded!;
    return { taskId, link: { envelope: decoded.envelope, hash: decoded.hash } };
  }

  const completed = (link: Parameters<typeof follow>[0], answer: string): EventDraft<'TaskCompleted'> =>
    follow(link, 'TaskCompleted', { answer, totals }, { producer: 'planner@0.1.0' });

  /** Sends an encoded event as it is, with the headers given (what a writer of a copy of the topic can do). */
  async function sendAsIs(encoded: EncodedEvent, signature: string | undefined): Promise<void> {
    const headers: Record<string, string> = { 'warden-event-type': encoded.envelope.type };
    if (signature !== undefined) headers['warden-signature'] = signature;
    await anonymous.sendRaw(`${env.WARDEN_TOPIC_PREFIX!}.outcomes.v1`, encoded.envelope.taskId, encoded.bytes, headers);
  }

  it('passes tasks whose every event its producer signed, and names appended and rewritten events', async () => {
    const honest = await submitted('An honest task');
    await planner.publish(completed(honest.link, 'done'));

    // Appended after a task's last event, well chained, but signed by nobody the verifier trusts.
    const appended = await submitted('A task with an event appended');
    const [end] = await planner.publish(completed(appended.link, 'done'));
    await anonymous.publish(
      follow({ envelope: end!.envelope, hash: end!.hash }, 'AlertRaised', alert(), { producer: 'planner@0.1.0' }),
    );

    // The last event rewritten: new content under the same id, with the signature of the original copied over.
    const rewritten = await submitted('A task whose last event was rewritten');
    const original = await planner.codec.encode(completed(rewritten.link, 'refund of 10 USD'));
    const altered = await anonymous.codec.encode({
      ...completed(rewritten.link, 'refund of 10,000 USD'),
      id: original.envelope.id,
    });
    await sendAsIs(altered, original.producerSignature);

    // Signed by a real producer, whose role may not produce it: the guard ending a task.
    const wrongRole = await submitted('A task the guard ended');
    await guard.publish(completed(wrongRole.link, 'done'));

    const run = await warden(['verify', '--json'], env);
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as {
      tasks: number;
      broken: number;
      results: Array<{ taskId: string; ok: boolean; breaks?: Array<{ kind: string; seq: number; detail: string }> }>;
    };
    const of = (taskId: string) => report.results.find((r) => r.taskId === taskId)!;
    expect(report).toMatchObject({ tasks: 4, broken: 3 });
    expect(of(honest.taskId).ok).toBe(true);
    expect(of(appended.taskId).breaks).toEqual([
      expect.objectContaining({ kind: 'unverified_producer', seq: 2, detail: expect.stringMatching(/unsigned/) }),
    ]);
    expect(of(rewritten.taskId).breaks).toEqual([
      expect.objectContaining({ kind: 'unverified_producer', seq: 1, detail: expect.stringMatching(/bad_signature/) }),
    ]);
    expect(of(wrongRole.taskId).breaks).toEqual([
      expect.objectContaining({ kind: 'unverified_producer', detail: expect.stringMatching(/type_not_allowed/) }),
    ]);
  });
});

function alert() {
  return {
    alertId: 'forged-1',
    code: 'policy_warn' as const,
    severity: 'info' as const,
    message: 'all is well',
    subject: {},
  };
}
