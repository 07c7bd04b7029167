import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { follow, newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createTestTopics, startTestPublisher, testKafkaEnv, testWorkerConfig } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { stack } from './support/index.js';

const root = resolve(import.meta.dirname, '..');

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const env = { ...process.env, ...testKafkaEnv(stack()) };
    const child = spawn('python3', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => done({ code, out }));
  });
}

describe('a downstream subscriber in Python', () => {
  it('decodes the audit topics through the registry and recomputes every hash and link', async () => {
    const endpoints = stack();
    const config = testWorkerConfig(endpoints);
    const topics = await createTestTopics(endpoints, config.topicPrefix);
    const publisher = await startTestPublisher(config);
    const [submitted] = await publisher.publish(
      newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'py-1', producer: 'test' }),
    );
    const [result] = await publisher.publish(
      follow(
        submitted!,
        'ToolSucceeded',
        {
          actionId: 'a1',
          tool: 'customers.query',
          effectKey: 'py-1:a1',
          result: { rows: [], total: 0 },
          durationMs: 2,
        },
        { producer: 'test' },
      ),
    );
    const [done] = await publisher.publish(
      follow(
        result!,
        'TaskCompleted',
        {
          answer: 'no such customer',
          totals: { steps: 1, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, costUsd: 0 },
        },
        { producer: 'test' },
      ),
    );
    await publisher.close();

    const { code, out } = await run([
      'examples/python-subscriber/subscriber.py',
      '--brokers',
      endpoints.kafkaBrokers,
      '--registry',
      endpoints.schemaRegistryUrl,
      '--topics',
      [topics.of('tasks'), topics.of('results'), topics.of('outcomes')].join(','),
      '--group',
      `${config.topicPrefix}.python`,
      '--max-events',
      '3',
      '--idle-seconds',
      '60',
      '--check-vectors',
      'schemas/test-vectors/canonical.json',
    ]);
    expect(code, out).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ vectorsChecked: 7 });
    const seen = new Map(lines.filter((l) => 'hash' in l).map((l) => [l.type, l.hash]));
    expect(seen.get('TaskSubmitted')).toBe(submitted!.hash);
    expect(seen.get('ToolSucceeded')).toBe(result!.hash);
    expect(seen.get('TaskCompleted')).toBe(done!.hash);
    expect(lines.at(-1)).toMatchObject({ summary: true, events: 3, tasks: 1, undecodable: 0, brokenLinks: [] });
  });
});
