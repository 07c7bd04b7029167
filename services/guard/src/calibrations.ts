import { GUARD_CALIBRATION_KEY, calibrationTopic, calibrationTopicConfig } from '@warden/calibration';
import { applyCalibration, parseCalibration, type Policy } from '@warden/policy';
import { ensureTopics, offsetsOf } from '@warden/runtime';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CalibrationLoadError } from './errors.js';

/**
 * Follows the compacted calibrations topic (ADR 0025) and keeps the policy in force: the policy file with the
 * latest published calibration applied, or the file alone when none is published (or it was retired with a
 * tombstone). The topic is read from the beginning by a consumer group of this process's own, and start() returns
 * only once everything published before it is applied, so the first verdict already uses the calibration in force.
 * A record that fails validation is logged and ignored: the calibration in force stays. Nothing here runs per event:
 * a handler reads the current policy from memory.
 */
export class CalibrationFollower {
  private consumer: Consumer | undefined;
  private policyInForce: Policy;
  private version: string | null = null;
  private readOffset = -1n;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
    private readonly base: Policy,
    private readonly replicaId: string,
    private readonly logger: Logger,
    private readonly loadTimeoutMs: number,
  ) {
    this.policyInForce = base;
  }

  /** The policy in force now. */
  policy(): Policy {
    return this.policyInForce;
  }

  /** The version of the published calibration in force, or null (the policy file's map). */
  calibrationVersion(): string | null {
    return this.version;
  }

  /** Creates the topic if needed, follows it, and waits until what was published before now is applied. */
  async start(): Promise<void> {
    const topic = calibrationTopic(this.prefix);
    const admin = this.kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      await ensureTopics(admin, [topic], { partitions: 1, configs: { ...calibrationTopicConfig } });
      const offsets = await offsetsOf(admin, topic);
      end = BigInt(offsets.find((o) => o.partition === 0)?.high ?? '0');
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({
      groupId: `${topic}.${this.replicaId}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        this.apply(message.key?.toString('utf8') ?? null, message.value, message.offset);
        this.readOffset = BigInt(message.offset);
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + this.loadTimeoutMs;
    while (this.readOffset < end - 1n) {
      if (Date.now() > deadline) {
        throw new CalibrationLoadError(
          `the calibrations topic ${topic} was not read to its end (offset ${end - 1n}) within ${this.loadTimeoutMs} ms: refusing to judge with a calibration that may be out of date`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    this.logger.info(
      { topic, calibration: this.version ?? `(policy file: ${this.base.confidence.calibration.version})` },
      'calibration in force',
    );
  }

  private apply(key: string | null, value: Buffer | null, offset: string): void {
    if (key !== GUARD_CALIBRATION_KEY) return;
    if (value === null) {
      this.policyInForce = this.base;
      this.version = null;
      this.logger.warn({ offset }, 'published calibration retired: the policy file map and thresholds apply');
      return;
    }
    try {
      const doc = parseCalibration(value.toString('utf8'));
      this.policyInForce = applyCalibration(this.base, doc);
      this.version = doc.version;
      this.logger.info({ offset, calibration: doc.version }, 'published calibration applied');
    } catch (error) {
      this.logger.error(
        { err: error, offset, calibration: this.version },
        'ignored an invalid published calibration: the calibration in force stays',
      );
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
