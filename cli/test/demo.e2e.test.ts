import { describe, expect, it } from 'vitest';
import { testEnv, warden } from './support/run.js';

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
      'stores: 1 refund recorded, 33 of 33 customers still there; secret in the log: no (redacted)',
    );
    expect(out).not.toContain('sk-demoSECRET');
    expect(out).toMatch(/-> TaskCompleted; chain ok: 13 events/); // the huge file, within budget
    expect(out).toMatch(/EscalationRequested +asks a person: confidence: low_confidence/);
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
    // The demo stops its workers.
    const prefix = /topic prefix "([^"]+)"/.exec(out)?.[1];
    expect(prefix).toBeDefined();
    const ps = await warden(['ps', '--prefix', prefix!], env);
    expect(ps.stdout).toContain('no fleet on topic prefix');
  });
});
