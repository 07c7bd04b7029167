/**
 * What the dashboard and the alert rules of infra/observability/ ask of the workers' /metrics: every metric name
 * their expressions use, with the Prometheus type the use implies. Shared by the structural unit test and the
 * integration test that scrapes real workers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricType } from '@warden/runtime';
import { parse } from 'yaml';

/** This directory. */
export const observabilityDir = dirname(fileURLToPath(import.meta.url));
export const dashboardFile = join(observabilityDir, 'grafana-dashboard.json');
export const alertRulesFile = join(observabilityDir, 'alert-rules.yml');
export const alertRulesTestFile = join(observabilityDir, 'alert-rules.test.yml');

/** A PromQL expression and where it is. */
export interface Expr {
  readonly where: string;
  readonly expr: string;
}

/** A metric an expression uses and the type its use implies. */
export interface MetricUse {
  readonly where: string;
  /** The metric family (a histogram's name without _bucket / _sum / _count). */
  readonly name: string;
  readonly type: MetricType;
}

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
  readonly panels?: readonly Panel[];
}
/** The dashboard's JSON (the parts read here). */
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
}

/** An alert rule (the parts read here). */
export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

export function loadAlertRules(): { groups: Array<{ name: string; rules: AlertRule[] }> } {
  return parse(readFileSync(alertRulesFile, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
}

/** Every expression of the dashboard's panels (rows' nested panels included). */
export function dashboardExprs(d: Dashboard = loadDashboard()): Expr[] {
  const out: Expr[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ where: `dashboard panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  return out;
}

/** Every expression of the alert rules. */
export function alertExprs(rules = loadAlertRules()): Expr[] {
  return rules.groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record ?? '?'}`, expr: r.expr })),
  );
}

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/**
 * The metrics of an expression: a name ending in _bucket (_sum, _count) is a histogram's series; one ending in
 * _total a counter; any other a gauge. Only Warden's own metrics (warden_*) are considered.
 */
export function metricUses({ where, expr }: Expr): MetricUse[] {
  const names = new Set(expr.match(/\bwarden_[a-z0-9_]+/g) ?? []);
  return [...names].map((n) =>
    HISTOGRAM_SUFFIX.test(n)
      ? { where, name: n.replace(HISTOGRAM_SUFFIX, ''), type: 'histogram' as const }
      : { where, name: n, type: n.endsWith('_total') ? ('counter' as const) : ('gauge' as const) },
  );
}

/** Metric families and their types in a Prometheus text exposition (`# TYPE name type`). */
export function exposedTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

/** The uses that `exposed` lacks or exposes with another type, each described. */
export function problemsOf(uses: readonly MetricUse[], exposed: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const u of uses) {
    const type = exposed.get(u.name);
    if (type === undefined) problems.push(`${u.where}: ${u.name} is not exposed`);
    else if (type !== u.type) problems.push(`${u.where}: ${u.name} is a ${type}, used as a ${u.type}`);
  }
  return problems;
}
