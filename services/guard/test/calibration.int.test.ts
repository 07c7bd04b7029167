import { follow, newTask, type DecodedEvent, type WardenEvent } from '@warden/contracts';
import { sampleProposal, sampleTask } from '@warden/contracts/testing';
import {
  EventCollector,
  startTestPublisher,
  testKafka,
  testWorkerConfig,
  waitUntil,
  type TestPublisher,
} from '@warden/runtime/testing';
import { GUARD_CALIBRATION_KEY, calibrationTopic } from '@warden/calibration';
import { createGuardWorker, type GuardWorker } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE, type CalibrationDocument } from '@warden/policy';
import type { Producer } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { stack } from '../../../test/support/index.js';

/** A calibration under which the test's 0.5-confident action passes (the policy file's map gives 0.45 < 0.6). */
const candidate: z.input<typeof CalibrationDocument> = {
  formatVersion: 1,
  version: 'cal-int-1',
  createdAt: '2026-12-04T00:00:00.000Z',
  overall: {
    method: 'isotonic',
    labelledPoints: 1_000,
    points: [
      [0, 0],
      [1, 1],
    ],
  },
  thresholds: { low: 0.1, medium: 0.2, high: 0.3, critical: 0.4 },
};

describe('the guard adopts a calibration only once it is published (real stack)', () => {
  const config = testWorkerConfig(stack());
  const policySource = JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown;
  let worker: GuardWorker;
  let publisher: TestPublisher;
  let out: EventCollector;
  let producer: Producer;

  const startGuard = async (): Promise<GuardWorker> => {
    const w = createGuardWorker({ runtime: config, policySource, escalationTtlMs: 3_600_000 });
    await w.start();
    return w;
  };

  beforeAll(async () => {
    worker = await startGuard();
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(stack(), [`${config.topicPrefix}.verdicts.v1`], config.mongoDb);
    // As the stack's admin (the operators' principal, the only one that may publish calibrations, ADR 0019).
    producer = testKafka(stack()).producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await out.close();
    await publisher.close();
    await worker.close();
  });

  async function judge(taskId: string): Promise<WardenEvent> {
    const [encoded] = await publisher.publish(
      newTask(sampleTask({ input: { orderId: '1001', customerId: 'c-42', amountUsd: 25 } }), {
        tenantId: 'tenant-a',
        taskId,
        producer: 'test',
      }),
    );
    const cause: { envelope: DecodedEvent['envelope']; hash: string } = {
      envelope: encoded!.envelope,
      hash: encoded!.hash,
    };
    const draft = follow(
      cause,
      'ActionProposed',
      sampleProposal({ confidence: { value: 0.5, source: 'structured' } }),
      { producer: 'test' },
    );
    await publisher.publish(draft);
    const events = await out.waitFor(
      (es) => es.some((e) => e.causationId === draft.id),
      30_000,
      `a verdict on ${taskId}`,
    );
    return events.find((e) => e.causationId === draft.id)!;
  }

  const confidenceOf = (verdict: WardenEvent) =>
    verdict.type === 'EscalationRequested'
      ? verdict.data.verdict?.confidence
      : verdict.type === 'ActionApproved' || verdict.type === 'ActionRejected'
        ? verdict.data.confidence
        : undefined;

  it('judges with the policy file until the calibration is published, then with it, naming its version', async () => {
    // A candidate that is only a file (fitted, backtested, not published) changes nothing.
    expect(worker.calibrationVersion()).toBeNull();
    const before = await judge('cal-before');
    expect(before.type).toBe('EscalationRequested');
    expect(confidenceOf(before)).toMatchObject({
      raw: 0.5,
      calibrated: 0.45,
      calibrationVersion: 'cal-2025-01-identity-shrunk',
    });

    await producer.send({
      topic: calibrationTopic(config.topicPrefix),
      acks: -1,
      messages: [{ key: GUARD_CALIBRATION_KEY, value: JSON.stringify(candidate) }],
    });
    await waitUntil(() => worker.calibrationVersion() === 'cal-int-1', { what: 'the guard to apply the calibration' });
    const after = await judge('cal-after');
    expect(after.type).toBe('ActionApproved');
    expect(confidenceOf(after)).toMatchObject({
      raw: 0.5,
      calibrated: 0.5,
      threshold: 0.3,
      calibrationVersion: 'cal-int-1',
    });
    expect(after.policyVersion).toBe('default.v1');
  });

  it('ignores an invalid record and loads the calibration in force at start', async () => {
    await producer.send({
      topic: calibrationTopic(config.topicPrefix),
      acks: -1,
      messages: [
        {
          key: GUARD_CALIBRATION_KEY,
          value: JSON.stringify({
            ...candidate,
            version: 'cal-bad',
            thresholds: { low: 0.9, medium: 0.1, high: 0.3, critical: 0.4 },
          }),
        },
      ],
    });
    await worker.close();
    worker = await startGuard();
    // start() returned: everything published before it is applied, the invalid record ignored.
    expect(worker.calibrationVersion()).toBe('cal-int-1');
    const verdict = await judge('cal-restart');
    expect(confidenceOf(verdict)).toMatchObject({ calibrationVersion: 'cal-int-1' });
  });

  it('returns to the policy file when the calibration is retired (a tombstone)', async () => {
    await producer.send({
      topic: calibrationTopic(config.topicPrefix),
      acks: -1,
      messages: [{ key: GUARD_CALIBRATION_KEY, value: null }],
    });
    await waitUntil(() => worker.calibrationVersion() === null, { what: 'the guard to retire the calibration' });
    const verdict = await judge('cal-retired');
    expect(verdict.type).toBe('EscalationRequested');
    expect(confidenceOf(verdict)).toMatchObject({ calibrationVersion: 'cal-2025-01-identity-shrunk' });
  });
});
