import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../stack/config.js';
import { diagnoseKafkaLog, partitionDirectories } from '../stack/kafka.js';

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

  it('names the heap, the partitions on disk and the cures when the broker ran out of heap', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-kafka-data-'));
    try {
      for (const name of ['t-1.tasks.v1-0', 't-1.tasks.v1-1', '__consumer_offsets-0', '__cluster_metadata-0'])
        fs.mkdirSync(path.join(dataDir, name));
      fs.writeFileSync(path.join(dataDir, 'meta.properties'), '');
      const log = [
        '[2026-12-04 15:40:18,966] ERROR [controller-1-ThrottledChannelReaper-Fetch]: Error due to',
        'java.lang.OutOfMemoryError: Java heap space',
      ].join('\n');
      const said = diagnoseKafkaLog(log, dataDir, 512);
      expect(said).toContain('KAFKA_HEAP_MB=512');
      expect(said).toContain('(3 now)');
      expect(said).toContain('npm run stack -- up --fresh');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the broker's heap", () => {
  it('is 1024 MiB unless KAFKA_HEAP_MB says otherwise, and refuses what is not a positive integer', () => {
    expect(loadConfig({}).kafka.heapMb).toBe(1024);
    expect(loadConfig({ KAFKA_HEAP_MB: '2048' }).kafka.heapMb).toBe(2048);
    expect(() => loadConfig({ KAFKA_HEAP_MB: '1g' })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKA_HEAP_MB: '0' })).toThrow(/KAFKA_HEAP_MB=0/);
  });

  it('counts no partitions in a data directory that does not exist', () => {
    expect(partitionDirectories(path.join(os.tmpdir(), 'warden-no-such-dir'))).toBe(0);
  });
});

describe("FerretDB's SQLite durability", () => {
  it('syncs at checkpoints (normal) unless FERRETDB_SQLITE_SYNCHRONOUS says full, and refuses anything else', () => {
    expect(loadConfig({}).mongoSqliteSynchronous).toBe('normal');
    expect(loadConfig({ FERRETDB_SQLITE_SYNCHRONOUS: 'full' }).mongoSqliteSynchronous).toBe('full');
    expect(() => loadConfig({ FERRETDB_SQLITE_SYNCHRONOUS: 'off' })).toThrow(/FERRETDB_SQLITE_SYNCHRONOUS/);
  });
});
