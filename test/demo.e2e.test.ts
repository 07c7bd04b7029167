import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { testKafkaEnv } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { stack } from './support/index.js';

const root = resolve(import.meta.dirname, '..');

describe('npm run demo', () => {
  it('runs the agent loop: a refund completes, scope creep and a hallucination are stopped, a loop halts, a person approves a delete', async () => {
    const endpoints = stack();
    const child = spawn(process.execPath, ['--conditions=@warden/source', '--import', 'tsx', 'infra/demo.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...testKafkaEnv(endpoints),
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
    expect(out).toMatch(/-> TaskCompleted; audit chain ok \(19 events\)/);
    expect(out).toMatch(/magnitude_per_action_exceeded \(impact\.rows=33 exceeds limits\.maxRowsPerAction=10\)/);
    expect(out).toMatch(/ungrounded_literal \(args\.id=cus_8f3a2c91/);
    expect(out).toMatch(/-> TaskHalted; audit chain ok/);
    expect(out).toMatch(/a person approves it at http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/HumanApproved\s+demo-approver \(admin\), signed by key warden-local-1/);
    expect(out.match(/-> TaskCompleted; audit chain ok/g)).toHaveLength(2);
    expect(out).toContain(
      'stores: 1 refund recorded, 32 of 33 customers still there (the approved duplicate deleted); secret in the log: no (redacted)',
    );
    expect(out).toMatch(
      /The people's API \(escalations, approve, deny; OpenAPI at \/openapi\.json\): http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(out).not.toContain('sk-demoSECRET');
  });
});
