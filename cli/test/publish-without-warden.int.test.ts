import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { testEnv, warden } from './support/run.js';

const producer = resolve(import.meta.dirname, '../../examples/python-producer/producer.py');

const shellProducer = resolve(import.meta.dirname, '../../examples/shell-producer/produce-task.sh');

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => done({ code, out }));
  });
}

describe('publishing a task without Warden’s code (examples/python-producer, examples/shell-producer)', () => {
  it('a task from Python or a shell runs like any other; a malformed one is dead-lettered with its reason', async () => {
    const env = testEnv('cli-py');
    const mongo = new MongoClient(env.MONGO_URL!);
    await mongo.connect();
    try {
      await mongo
        .db(env.MONGO_DB)
        .collection('customers')
        .insertOne({ _id: 'cus_1042', name: 'Ada Lovelace', email: 'ada@example.com', status: 'active' } as never);
    } finally {
      await mongo.close();
    }
    const up = await warden(['up', 'scripted-model', 'guard', 'executor', 'planner'], env);
    try {
      expect(up.code, up.stderr).toBe(0);
      const done = await run(
        'python3',
        [
          producer,
          '--goal',
          'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
          '--input',
          JSON.stringify({ customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 }),
          '--tools',
          'customers.query,payments.refund',
          '--collections',
          'customers',
          '--model',
          'scripted:pipeline-refund',
          '--wait',
          '90',
        ],
        env,
      );
      expect(done.code, done.out).toBe(0);
      expect(done.out).toMatch(/TaskCompleted\s+Refunded 42\.50 USD/);
      const taskId = done.out.split('\n')[0]!.trim();
      const verified = await warden(['verify', taskId], env);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain('chain ok: 19 events');

      // The shell example (kcat), same fleet: its task completes too, followed by `warden tail --until-end`.
      const shell = await run(
        shellProducer,
        [resolve(import.meta.dirname, '../../examples/shell-producer/task.json')],
        env,
      );
      expect(shell.code, shell.out).toBe(0);
      const shellTask = shell.out.trim();
      const tailed = await warden(['tail', shellTask, '--until-end'], env);
      expect(tailed.code, tailed.stderr).toBe(0);
      expect(tailed.stdout).toMatch(new RegExp(`${shellTask}\\s+18 planner\\s+TaskCompleted\\s+"Refunded 42\\.50 USD`));

      const bad = await run(
        'python3',
        [producer, '--goal', 'Anything', '--tools', 'customers.query', '--malformed', '--wait', '60'],
        env,
      );
      expect(bad.code, bad.out).toBe(1);
      expect(bad.out).toMatch(/DeadLettered\s+WARDEN_CONTRACTS_\w+: .*budgets\.maxTokens/);
    } finally {
      await warden(['down'], env);
    }
    // Four worker processes, two producers, verify and tail: about a minute on a loaded two-core machine.
  }, 180_000);
});
