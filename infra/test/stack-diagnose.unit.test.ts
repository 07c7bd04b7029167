import { describe, expect, it } from 'vitest';
import { diagnoseKafkaLog } from '../stack/kafka.js';

describe("the stack's reading of a failed Kafka", () => {
  it('names the unusable data directory and the cure when all log dirs have failed', () => {
    const log = [
      '[2026-12-04 09:00:00,000] ERROR Error while reading checkpoint file (kafka.server.LogDirFailureChannel)',
      '[2026-12-04 09:00:00,100] WARN Stopping serving logs in dir /tmp/s/kafka/data (kafka.log.LogManager)',
      '[2026-12-04 09:00:00,200] ERROR Shutdown broker because all log dirs in /tmp/s/kafka/data have failed (kafka.log.LogManager)',
    ].join('\n');
    const said = diagnoseKafkaLog(log, '/tmp/s/kafka/data');
    expect(said).toContain('/tmp/s/kafka/data');
    expect(said).toContain('npm run stack -- up --fresh');
  });

  it('says nothing of a log without that failure', () => {
    expect(diagnoseKafkaLog('[..] INFO [KafkaRaftServer nodeId=1] Kafka Server started', '/d')).toBeUndefined();
  });
});
