import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stack } from './support/index.js';

const root = resolve(import.meta.dirname, '..');

describe('npm run demo', () => {
  it('sends a task through the real stack, verifies its chain and keeps the secret out of the log', async () => {
    const endpoints = stack();
    const child = spawn(process.execPath, ['--conditions=@warden/source', '--import', 'tsx', 'infra/demo.ts'], {
      cwd: root,
      env: {
        ...process.env,
        KAFKA_BROKERS: endpoints.kafkaBrokers,
        SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
        MONGO_URL: endpoints.mongoUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, out).toBe(0);
    expect(out).toMatch(/seq 0 {2}TaskSubmitted/);
    expect(out).toMatch(/seq 1 {2}TaskCompleted/);
    expect(out).toContain('audit chain: ok (2 events, head seq 1)');
    expect(out).toContain('secret in the log: no (redacted)');
    expect(out).not.toContain('sk-demoSECRET');
  });
});
