import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testEnv, warden } from './support/run.js';

const root = resolve(import.meta.dirname, '../..');

describe('warden demo', () => {
  it('runs every scenario through the workers as processes and reports each defence held, every chain whole', async () => {
    const { WARDEN_TOPIC_PREFIX: _p, MONGO_DB: _d, ...env } = testEnv('cli-demo');
    const run = await warden(['demo'], env);
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.code, out).toBe(0);
    expect(out).toMatch(/guard-1 ready \(pid \d+/);
    expect(out).toMatch(/planner-1 ready \(pid \d+/);
    expect(out).toMatch(/-> TaskCompleted; chain ok: 19 events/);
    expect(out).toMatch(/magnitude_per_action_exceeded \(impact\.rows=33 exceeds limits\.maxRowsPerAction=10\)/);
    expect(out).toMatch(/ungrounded_literal \(args\.id=cus_8f3a2c91/);
    expect(out).toMatch(/-> TaskHalted; chain ok/);
    expect(out).toContain(
      // the one customer a person approved deleting is gone, nothing else
      'stores: 1 refund recorded, 32 of 33 customers still there; secret in the log: no (redacted)',
    );
    expect(out).not.toContain('sk-demoSECRET');
    expect(out).toMatch(/-> TaskCompleted; chain ok: 13 events/); // the huge file, within budget
    expect(out).toMatch(/EscalationRequested +asks a person: confidence: low_confidence/);
    expect(out).toMatch(/HumanApproved +fleet-approver \((?:approver|admin)\), signed by key warden-local-1/);
    expect(out).toMatch(/approved by fleet-approver through the escalation service/);
    expect(out).toMatch(/the escalation page: http:\/\/127\.0\.0\.1:\d+\/ \(sign in with the token in /);
    expect(out).toMatch(/escalated \([a-z_]+\); a person decides it at http:\/\/127\.0\.0\.1:\d+\//);
    expect(out).toMatch(/executor BreakerOpened +tool files\.read/);
    expect(out).toMatch(/executor AlertRaised +critical breaker_open/);
    for (const script of [
      'pipeline-refund',
      'scope-creep',
      'hallucinated-id',
      'retry-loop',
      'pipeline-huge-file',
      'low-confidence-delete',
      'pipeline-missing-file',
    ]) {
      expect(out).toMatch(new RegExp(`^ {3}held {2}${script}: `, 'm'));
    }
    expect(out).toContain('== report: 7 of 7 defences held');
    expect(out).not.toMatch(/DID NOT HOLD|BROKEN/);
    // The demo stops its workers, and leaves its log for a look afterwards.
    const [, prefix, db] = /--prefix ([a-z0-9._-]+) --db (\w+)/.exec(out) ?? [];
    expect(prefix).toBeDefined();
    const at = ['--prefix', prefix!, '--db', db!];
    const ps = await warden(['ps', ...at], env);
    expect(ps.stdout).toContain('no fleet on topic prefix');
    const verified = await warden(['verify', ...at], env);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('10 task(s) verified: 10 ok, 0 broken');

    // Backtests: the policy the guard ran changes nothing; one that trusts low-risk tools less would escalate reads.
    const same = await warden(['backtest', resolve(root, 'packages/policy/policies/default.v1.json'), ...at], env);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/policy default\.v1: 10 task\(s\), \d+ proposal\(s\) replayed/);
    expect(same.stdout).toContain('0 verdict(s) would change');
    const policy = JSON.parse(readFileSync(resolve(root, 'packages/policy/policies/default.v1.json'), 'utf8')) as {
      version: string;
      confidence: { thresholds: Record<string, number> };
    };
    policy.version = 'stricter.v2';
    policy.confidence.thresholds = { low: 0.95, medium: 0.96, high: 0.97, critical: 0.98 };
    const candidate = join(env.WARDEN_CACHE_DIR!, 'stricter.json');
    writeFileSync(candidate, JSON.stringify(policy));
    const stricter = await warden(['backtest', candidate, '--fail-on-change', ...at], env);
    expect(stricter.code, stricter.stderr).toBe(1);
    expect(stricter.stdout).toMatch(
      /pipeline-refund-\S+ \S+ customers\.query: allow \(allowed\) -> escalate \(low_confidence/,
    );
  });
});
