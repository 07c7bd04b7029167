/**
 * The calibration report as one self-contained HTML page: the points, each map's measures before and after with
 * its reliability diagram, each tier's recommendation and threshold table, and the notes (what the data could not
 * support). Every value is escaped.
 */
import { scopeLabel, type CalibrationRun } from './run.js';
import { escapeXml, reliabilityDiagramSvg } from './svg.js';
import type { ThresholdRow } from './thresholds.js';

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');

/** Rows of a threshold table worth showing: every 0.05, plus the recommended threshold. */
function shownRows(table: readonly ThresholdRow[], recommended: number | undefined): ThresholdRow[] {
  return table.filter((r) => Math.round(r.threshold * 100) % 5 === 0 || r.threshold === recommended);
}

/** The report page of a run. */
export function reportHtml(run: CalibrationRun): string {
  const e = escapeXml;
  const parts: string[] = [];
  parts.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  parts.push(`<title>Calibration ${e(run.version)}</title>`);
  parts.push(
    '<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.rec{background:#e8f4e8}.note{color:#8a4b00}</style>',
  );
  parts.push('</head><body>');
  parts.push(`<h1>Calibration ${e(run.version)}</h1>`);
  parts.push(
    `<p>Created ${e(run.createdAt)}; compared with the calibration in force, <code>${e(run.currentVersion)}</code>. Target: ${e(run.target.kind === 'max_error_rate' ? `at most ${pct(run.target.rate)} wrong auto-approvals` : `at most ${pct(run.target.rate)} escalations`)} (judged on the upper bound of a 95% Wilson interval).</p>`,
  );
  const sources = Object.entries(run.points.bySource)
    .map(([s, n]) => `${e(s)} ${n}`)
    .join(', ');
  parts.push(
    `<p>${run.points.total} point(s): ${run.points.labelled} labelled (${sources || 'none'}), ${run.points.unlabelled} not labelled yet (they count in escalation rates only).</p>`,
  );
  if (run.notes.length > 0) {
    parts.push('<ul>');
    for (const n of run.notes) parts.push(`<li class="note">${e(n)}</li>`);
    parts.push('</ul>');
  }
  parts.push(
    '<h2>Maps</h2><table><tr><th>scope</th><th>method</th><th>labelled</th><th>ECE before</th><th>ECE after</th><th>Brier before</th><th>Brier after</th><th>log loss before</th><th>log loss after</th></tr>',
  );
  for (const s of run.scopes) {
    parts.push(
      `<tr><td>${e(scopeLabel(s.scope))}</td><td>${e(s.fit.method)}</td><td>${s.fit.labelledPoints}</td><td>${num(s.before.ece)}</td><td>${num(s.after.ece)}</td><td>${num(s.before.brier)}</td><td>${num(s.after.brier)}</td><td>${num(s.before.logLoss)}</td><td>${num(s.after.logLoss)}</td></tr>`,
    );
  }
  parts.push('</table><p>"After" figures are cross-validated: each point is predicted by a map fitted without it.</p>');
  for (const s of run.scopes) {
    parts.push(`<h3>${e(scopeLabel(s.scope))}: ${e(s.fit.why)}</h3>`);
    parts.push(reliabilityDiagramSvg(s.binsBefore, s.binsAfter, { title: `Reliability, ${scopeLabel(s.scope)}` }));
  }
  parts.push('<h2>Thresholds per risk tier</h2>');
  for (const t of run.tiers) {
    const rec = t.recommendation;
    parts.push(
      `<h3>${e(t.tier)}: ${t.points} point(s), ${t.labelled} labelled; threshold in force ${t.currentThreshold}, published ${t.published}</h3>`,
    );
    parts.push(
      `<p>${rec.status === 'recommended' ? `Recommended <b>${rec.threshold}</b>: ` : `<span class="note">No recommendation (${e(rec.status)}): </span>`}${e(rec.why)}</p>`,
    );
    if (t.points === 0) continue;
    parts.push(
      '<table><tr><th>threshold</th><th>escalated</th><th>95% interval</th><th>wrong among auto-approved</th><th>of</th><th>95% interval</th></tr>',
    );
    const recommended = rec.status === 'recommended' ? rec.threshold : undefined;
    for (const r of shownRows(t.table, recommended)) {
      parts.push(
        `<tr${r.threshold === recommended ? ' class="rec"' : ''}><td>${r.threshold.toFixed(2)}</td><td>${pct(r.escalation.rate)}</td><td>${pct(r.escalation.lower)}–${pct(r.escalation.upper)}</td><td>${pct(r.errorAmongApproved.rate)}</td><td>${r.errorAmongApproved.n}</td><td>${pct(r.errorAmongApproved.lower)}–${pct(r.errorAmongApproved.upper)}</td></tr>`,
      );
    }
    parts.push('</table>');
  }
  parts.push(`<h2>Document</h2><pre>${e(JSON.stringify(run.document, null, 2))}</pre>`);
  parts.push('</body></html>');
  return parts.join('\n');
}
