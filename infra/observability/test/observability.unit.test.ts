/**
 * The dashboard and the alert rules, checked without a running worker: every metric they use is one the workers
 * define (agent-metrics.ts, telemetry.ts) with the type the expression needs; the rules have what an operator reads;
 * and, where promtool is built (infra/tools/install-promtool.sh), `promtool check rules` and `promtool test rules`
 * pass. test/observability.int.test.ts checks the same uses against what real workers expose.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AgentMetricCatalog, WorkerMetricCatalog } from '@warden/runtime';
import { describe, expect, it } from 'vitest';
import { cacheDirFrom } from '../../stack/config.js';
import {
  alertExprs,
  alertRulesFile,
  alertRulesTestFile,
  dashboardExprs,
  loadAlertRules,
  loadDashboard,
  metricUses,
  problemsOf,
} from '../metrics-used.js';

const defined = new Map<string, string>([
  ...AgentMetricCatalog.map((m) => [m.name, m.type] as const),
  ...WorkerMetricCatalog.map((m) => [m.name, m.type] as const),
]);

describe('the dashboard and alert rules use only metrics the workers define, with their types', () => {
  it('the dashboard: every expression names defined metrics', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(20);
    expect(problemsOf(exprs.flatMap(metricUses), defined)).toEqual([]);
  });

  it('the alert rules: every expression names defined metrics', () => {
    expect(problemsOf(alertExprs().flatMap(metricUses), defined)).toEqual([]);
  });

  it('a misspelt or mistyped metric is reported (the check itself can fail)', () => {
    expect(problemsOf(metricUses({ where: 'x', expr: 'rate(warden_model_tokens[5m])' }), defined)).toEqual([
      'x: warden_model_tokens is not exposed',
    ]);
    expect(
      problemsOf(metricUses({ where: 'x', expr: 'histogram_quantile(0.5, warden_breaker_state_bucket)' }), defined),
    ).toEqual(['x: warden_breaker_state is a gauge, used as a histogram']);
  });

  it('every agent metric is on the dashboard', () => {
    const used = new Set(
      dashboardExprs()
        .flatMap(metricUses)
        .map((u) => u.name),
    );
    expect(AgentMetricCatalog.map((m) => m.name).filter((n) => !used.has(n))).toEqual([]);
  });

  it('the dashboard has an agents overview, then one row per service', () => {
    const rows = loadDashboard()
      .panels.filter((p) => p.type === 'row')
      .map((p) => p.title);
    expect(rows).toEqual(['Agents overview', 'planner', 'guard', 'executor', 'escalation', 'auditor']);
  });

  it('the alert rules cover what issue 20 asks, each with a severity and a summary', () => {
    const rules = loadAlertRules().groups.flatMap((g) => g.rules);
    const byMetric = (metric: string): boolean => rules.some((r) => r.expr.includes(metric));
    for (const metric of [
      'warden_dlq_depth_messages',
      'warden_breaker_state',
      'warden_escalations_overdue',
      'warden_audit_projection_lag_seconds',
      'warden_budget_tenant_remaining_usd',
      'warden_audit_chain_breaks_total',
    ])
      expect(byMetric(metric), metric).toBe(true);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^Warden[A-Za-z]+$/);
      expect(['info', 'warning', 'critical']).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  const promtool = join(cacheDirFrom(), 'bin', 'promtool');
  it.skipIf(!existsSync(promtool))('promtool: the rules parse and their unit tests pass', () => {
    const check = spawnSync(promtool, ['check', 'rules', alertRulesFile], { encoding: 'utf8', timeout: 60_000 });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync(promtool, ['test', 'rules', alertRulesTestFile], { encoding: 'utf8', timeout: 60_000 });
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });
});
