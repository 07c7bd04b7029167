import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { follow } from '@warden/contracts';
import { createTestTopics, startTestPublisher, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

const COMMANDS = [
  [],
  ['stack'],
  ['stack', 'up'],
  ['stack', 'status'],
  ['up'],
  ['down'],
  ['ps'],
  ['logs'],
  ['submit'],
  ['tail'],
  ['show'],
  ['verify'],
  ['backtest'],
  ['calibrate'],
  ['publish-calibration'],
  ['budgets'],
  ['escalations'],
  ['escalations', 'list'],
  ['escalations', 'show'],
  ['escalations', 'approve'],
  ['escalations', 'deny'],
  ['demo'],
];

describe('warden', () => {
  it('answers --help on every command, and refuses an unknown command with exit 2', async () => {
    const env = testEnv('cli-help');
    const runs = await Promise.all(COMMANDS.map((c) => warden([...c, '--help'], env)));
    runs.forEach((run, i) => {
      expect(run.code, `warden ${COMMANDS[i]!.join(' ')} --help: ${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^Usage: warden/);
    });
    const bad = await warden(['launch'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command 'launch'");
  });

  it('submits a task from YAML, shows its timeline and verifies its chain; a bad task names the field', async () => {
    const env = testEnv('cli-submit');
    const file = join(env.WARDEN_CACHE_DIR!, 'task.yaml');
    writeFileSync(
      file,
      [
        'goal: Look up customer cus_1042',
        'input: { customerId: cus_1042 }',
        'scope:',
        '  tools: [customers.query]',
        '  resources: { collections: [customers] }',
      ].join('\n'),
    );
    const submitted = await warden(['submit', file, '--tenant', 'acme'], env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const taskId = submitted.stdout.trim();
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

    const shown = await warden(['show', taskId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`task ${taskId} (tenant acme), 1 events`);
    expect(shown.stdout).toMatch(/0 warden-cli TaskSubmitted\s+"Look up customer cus_1042"/);
    expect(shown.stdout).toContain('chain ok: 1 events');

    const verified = await warden(['verify', '--json'], env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ tasks: 1, broken: 0 });

    const bad = join(env.WARDEN_CACHE_DIR!, 'bad.json');
    writeFileSync(bad, JSON.stringify({ goal: 'x', input: {}, scope: { tools: [] }, budgets: { maxTokens: -1 } }));
    const refused = await warden(['submit', bad], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the task is not a valid TaskSubmitted');
    expect(refused.stderr).toMatch(/scope\.tools: .*>=1/);
    expect(refused.stderr).toMatch(/budgets\.maxTokens: /);

    const missing = await warden(['show', 'no-such-task'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no events of task no-such-task');
  });

  it('verify exits 1 and says where when a chain is broken', async () => {
    const env = testEnv('cli-verify');
    const endpoints = stack();
    await createTestTopics(endpoints, env.WARDEN_TOPIC_PREFIX!);
    const publisher = await startTestPublisher(
      testWorkerConfig(endpoints, {
        topicPrefix: env.WARDEN_TOPIC_PREFIX!,
        mongoDb: env.MONGO_DB!,
        subjectPrefix: env.WARDEN_SUBJECT_PREFIX!,
      }),
    );
    try {
      const submitted = await warden(['submit', '--goal', 'Say hello', '--tools', 'customers.query', '--json'], env);
      expect(submitted.code, submitted.stderr).toBe(0);
      const { taskId } = JSON.parse(submitted.stdout) as { taskId: string };
      // A follow-up naming a cause whose hash is not the TaskSubmitted's: the link points at nothing.
      await publisher.publish(
        follow(
          {
            envelope: {
              id: randomUUID(),
              taskId,
              tenantId: 'default',
              seq: 0,
              correlationId: taskId,
              policyVersion: 'none',
            },
            hash: 'f'.repeat(64),
          },
          'TaskCompleted',
          {
            answer: 'hello',
            totals: { steps: 1, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, costUsd: 0 },
          },
          { producer: 'forger@0' },
        ),
      );
    } finally {
      await publisher.close();
    }
    const verified = await warden(['verify'], env);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/chain BROKEN at seq \d+ \(missing\)/);
    expect(verified.stdout).toContain('1 task(s) verified: 0 ok, 1 broken');
  });

  it('up starts workers as processes with replicas, ps shows them ready, logs prints theirs, down stops them', async () => {
    const env = { ...testEnv('cli-fleet'), LOG_LEVEL: 'info' };
    const up = await warden(['up', 'guard', '--replicas', 'guard=2'], env);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(/guard-1 ready \(pid \d+/);
      expect(up.stdout).toMatch(/guard-2 ready \(pid \d+/);
      const again = await warden(['up', 'guard'], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('a fleet is already running');
      const ps = await warden(['ps', '--json'], env);
      expect(ps.code, ps.stderr).toBe(0);
      const { processes } = JSON.parse(ps.stdout) as { processes: Array<{ service: string; ready: boolean }> };
      expect(processes.map((p) => [p.service, p.ready])).toEqual([
        ['guard', true],
        ['guard', true],
      ]);
      // main.ts logs "guard ready" once start() has resolved, a moment after the worker answers /readyz.
      const logs = await waitUntil(
        async () => {
          const run = await warden(['logs', 'guard-2', '-n', '200'], env);
          return run.code === 0 && run.stdout.includes('"msg":"guard ready"') ? run : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: "guard-2's log to say it is ready" },
      );
      expect(logs.stdout).toContain('"name":"guard"');
    } finally {
      const down = await warden(['down'], env);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toContain('stopped 2 worker(s)');
    }
    const after = await warden(['ps'], env);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('no fleet on topic prefix');
  });

  it('stack status checks the servers (exit 0 when all answer)', async () => {
    const run = await warden(['stack', 'status'], testEnv('cli-stack'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/kafka: .*healthy/);
    expect(run.stdout).toMatch(/registry: .*healthy/);
    expect(run.stdout).toMatch(/mongo: .*healthy/);
  });

  it('says what to do when the servers do not answer (exit 3)', async () => {
    const env = { ...testEnv('cli-down'), MONGO_URL: 'mongodb://127.0.0.1:1/', KAFKA_BROKERS: '127.0.0.1:1' };
    const run = await warden(['verify'], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/what to do: start the local stack with `warden stack up`/);
  });
});
