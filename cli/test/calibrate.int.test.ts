import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { testEnv, warden } from './support/run.js';

describe('warden calibrate', () => {
  it('reports honestly on too little data, refuses to publish it, and publishes a checked calibration file', async () => {
    const env = testEnv('cli-calibrate');
    const submitted = await warden(
      ['submit', '--goal', 'Look up customer cus_1042', '--tools', 'customers.query', '--collections', 'customers'],
      env,
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const out = join(env.WARDEN_CACHE_DIR!, 'cal');
    const run = await warden(['calibrate', '--out', out, '--version', 'cal-cli-1', '--publish'], env);
    // nothing to fit: exit 1 on --publish, with the reason
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('calibration cal-cli-1: 0 point(s)');
    expect(run.stdout).toContain('not published: too little data');
    expect(run.stdout).toMatch(/tier high .*no recommendation: too little data/);
    const svg = readFileSync(join(out, 'reliability.svg'), 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('too little data');
    const doc = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ version: 'cal-cli-1', overall: { method: 'policy' } });

    // an incoherent file is refused with exit 2, naming the problem
    const bad = join(env.WARDEN_CACHE_DIR!, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...doc, thresholds: { low: 0.9, medium: 0.1, high: 0.2, critical: 0.3 } }));
    const refused = await warden(['publish-calibration', bad], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('thresholds.medium');

    // the checked file publishes; a backtest under it replays what is recorded
    const published = await warden(['publish-calibration', join(out, 'calibration.json')], env);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toContain(`published cal-cli-1 on ${env.WARDEN_TOPIC_PREFIX}.calibrations.v1`);
    const backtest = await warden(
      ['backtest', 'packages/policy/policies/default.v1.json', '--calibration', join(out, 'calibration.json')],
      env,
    );
    expect(backtest.code, backtest.stderr).toBe(0);
    expect(backtest.stdout).toContain('0 verdict(s) would change');
  });
});
