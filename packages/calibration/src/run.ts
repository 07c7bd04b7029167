/**
 * A calibration run: from labelled points to fitted maps (overall, and per risk tier or tool where the data allows),
 * their measures before and after, each tier's threshold table and recommendation, and the calibration document
 * that could be published. Pure: the same points and options give the same run.
 */
import { RiskTiers, type CalibrationDocument, type RiskTier } from '@warden/policy';
import type { z } from 'zod';
import {
  applyMap,
  DEFAULT_FIT_SETTINGS,
  fitCalibration,
  type FitResult,
  type FitSettings,
  type Observation,
} from './fit.js';
import { metricsOf, reliabilityBins, type CalibrationMetrics, type ReliabilityBin, type Scored } from './metrics.js';
import type { LabelledPoint, LabelSource } from './points.js';
import {
  DEFAULT_RECOMMEND_SETTINGS,
  recommendThreshold,
  thresholdTable,
  type Recommendation,
  type RecommendSettings,
  type ThresholdRow,
  type ThresholdTarget,
} from './thresholds.js';

/** The calibration in force now (the policy file's, or the last published one): the "before". */
export interface CurrentCalibration {
  readonly version: string;
  readonly points: readonly (readonly [number, number])[];
  readonly thresholds: Readonly<Record<RiskTier, number>>;
}

/** Options of a calibration run. */
export interface CalibrationOptions {
  /** The new calibration's version. */
  readonly version: string;
  /** ISO time the run is stamped with (the caller's clock: the run itself is pure). */
  readonly createdAt: string;
  readonly current: CurrentCalibration;
  readonly target: ThresholdTarget;
  readonly fit?: FitSettings;
  readonly recommend?: RecommendSettings;
  /** A tier or tool gets its own map only with at least this many labelled points. */
  readonly minPointsPerScope?: number;
  /** Bins of the reliability diagram and the ECE. */
  readonly bins?: number;
}

/** Default minimum labelled points for a map of its own per tier or tool. */
export const DEFAULT_MIN_POINTS_PER_SCOPE = 200;

/** What a map covers. */
export type Scope =
  | { readonly kind: 'overall' }
  | { readonly kind: 'tier'; readonly tier: RiskTier }
  | { readonly kind: 'tool'; readonly tool: string };

/** One fitted scope: the fit, the measures before and after (after: cross-validated), the reliability bins. */
export interface ScopeResult {
  readonly scope: Scope;
  readonly fit: Omit<FitResult, 'outOfFold'>;
  readonly before: CalibrationMetrics;
  readonly after: CalibrationMetrics;
  readonly binsBefore: ReliabilityBin[];
  readonly binsAfter: ReliabilityBin[];
}

/** One risk tier's thresholds. */
export interface TierResult {
  readonly tier: RiskTier;
  readonly points: number;
  readonly labelled: number;
  readonly currentThreshold: number;
  readonly table: ThresholdRow[];
  readonly recommendation: Recommendation;
  /** The threshold the document carries (the recommendation, else the current one, raised to the tier below's). */
  readonly published: number;
}

/** A whole run. */
export interface CalibrationRun {
  readonly version: string;
  readonly createdAt: string;
  readonly target: ThresholdTarget;
  readonly currentVersion: string;
  readonly points: {
    readonly total: number;
    readonly labelled: number;
    readonly unlabelled: number;
    readonly bySource: Readonly<Partial<Record<LabelSource, number>>>;
    readonly withoutTier: number;
  };
  readonly scopes: ScopeResult[];
  readonly tiers: TierResult[];
  /** The document `--publish` would publish. */
  readonly document: z.input<typeof CalibrationDocument>;
  /** True when the run fitted a map or recommended a threshold; false: too little data to change anything. */
  readonly publishable: boolean;
  readonly notes: string[];
}

const observationOf = (p: LabelledPoint): Observation => ({
  raw: p.confidence.raw,
  y: p.label?.correct === true ? 1 : 0,
});

function scopeResult(
  scope: Scope,
  labelled: readonly LabelledPoint[],
  options: CalibrationOptions,
  bins: number,
): ScopeResult {
  const data = labelled.map(observationOf);
  const fit = fitCalibration(data, options.fit ?? DEFAULT_FIT_SETTINGS);
  const before: Scored[] = data.map((o) => ({ p: applyMap(options.current.points, o.raw), y: o.y }));
  const { outOfFold, ...rest } = fit;
  // Nothing fitted: the map in force is kept, so "after" is "before".
  const after = fit.method === 'identity' ? before : outOfFold;
  return {
    scope,
    fit: rest,
    before: metricsOf(before, bins),
    after: metricsOf(after, bins),
    binsBefore: reliabilityBins(before, bins),
    binsAfter: reliabilityBins(after, bins),
  };
}

/** Runs a calibration over labelled points (unlabelled ones count in escalation rates only). */
export function runCalibration(points: readonly LabelledPoint[], options: CalibrationOptions): CalibrationRun {
  const bins = options.bins ?? 10;
  const minScope = options.minPointsPerScope ?? DEFAULT_MIN_POINTS_PER_SCOPE;
  const labelled = points.filter((p) => p.label !== null);
  const bySource: Partial<Record<LabelSource, number>> = {};
  for (const p of labelled) bySource[p.label!.source] = (bySource[p.label!.source] ?? 0) + 1;
  const notes: string[] = [];

  const overall = scopeResult({ kind: 'overall' }, labelled, options, bins);
  const scopes: ScopeResult[] = [overall];
  const byTier: Partial<Record<RiskTier, ScopeResult>> = {};
  for (const tier of RiskTiers) {
    const mine = labelled.filter((p) => p.tier === tier);
    if (mine.length < minScope) continue;
    const result = scopeResult({ kind: 'tier', tier }, mine, options, bins);
    if (result.fit.method === 'identity') continue;
    byTier[tier] = result;
    scopes.push(result);
  }
  const byTool = new Map<string, ScopeResult>();
  const tools = [...new Set(labelled.map((p) => p.tool).filter((t): t is string => t !== null))].sort();
  for (const tool of tools) {
    const mine = labelled.filter((p) => p.tool === tool);
    if (mine.length < minScope) continue;
    const result = scopeResult({ kind: 'tool', tool }, mine, options, bins);
    if (result.fit.method === 'identity') continue;
    byTool.set(tool, result);
    scopes.push(result);
  }
  const overallFitted = overall.fit.method !== 'identity';
  if (!overallFitted)
    notes.push(`overall map: ${overall.fit.why}; the map in force (${options.current.version}) is kept`);
  const overallPoints = overallFitted
    ? overall.fit.points
    : options.current.points.map(([x, y]) => [x, y] as [number, number]);
  const mapFor = (p: LabelledPoint): readonly (readonly [number, number])[] =>
    (p.tool !== null ? byTool.get(p.tool)?.fit.points : undefined) ??
    (p.tier !== null ? byTier[p.tier]?.fit.points : undefined) ??
    overallPoints;

  const withoutTier = points.filter((p) => p.tier === null).length;
  if (withoutTier > 0)
    notes.push(
      `${withoutTier} point(s) have no risk tier (verdicts recorded before tiers were carried, or none yet): they count in the maps, not in the thresholds`,
    );
  const tiers: TierResult[] = [];
  let floor = 0;
  for (const tier of RiskTiers) {
    const mine = points.filter((p) => p.tier === tier);
    const calibrated = mine.map((p) => ({
      calibrated: applyMap(mapFor(p), p.confidence.raw),
      y: p.label === null ? null : p.label.correct ? (1 as const) : (0 as const),
    }));
    const table = thresholdTable(calibrated);
    const nLabelled = calibrated.filter((c) => c.y !== null).length;
    const recommendation = recommendThreshold(
      table,
      nLabelled,
      options.target,
      options.recommend ?? DEFAULT_RECOMMEND_SETTINGS,
    );
    const wanted =
      recommendation.status === 'recommended' ? recommendation.threshold : options.current.thresholds[tier];
    const published = Math.max(wanted, floor);
    if (published > wanted)
      notes.push(
        `tier ${tier}: threshold raised from ${wanted} to ${published}, the tier below's (thresholds rise with the tier)`,
      );
    floor = published;
    tiers.push({
      tier,
      points: mine.length,
      labelled: nLabelled,
      currentThreshold: options.current.thresholds[tier],
      table,
      recommendation,
      published,
    });
  }
  const fitted = (s: ScopeResult) => ({
    points: s.fit.points,
    method: s.fit.method,
    labelledPoints: s.fit.labelledPoints,
  });
  const document: z.input<typeof CalibrationDocument> = {
    formatVersion: 1,
    version: options.version,
    createdAt: options.createdAt,
    description: `fitted on ${labelled.length} labelled of ${points.length} point(s); target ${options.target.kind} ${options.target.rate}`,
    overall: overallFitted
      ? fitted(overall)
      : { points: overallPoints, method: 'policy', labelledPoints: labelled.length },
    byTier: Object.fromEntries(Object.entries(byTier).map(([tier, s]) => [tier, fitted(s)])),
    byTool: Object.fromEntries([...byTool].map(([tool, s]) => [tool, fitted(s)])),
    thresholds: Object.fromEntries(tiers.map((t) => [t.tier, t.published])) as Record<RiskTier, number>,
  };
  const publishable = overallFitted || tiers.some((t) => t.recommendation.status === 'recommended');
  if (!publishable) notes.push('too little data to change anything: nothing fitted, no threshold recommended');
  return {
    version: options.version,
    createdAt: options.createdAt,
    target: options.target,
    currentVersion: options.current.version,
    points: {
      total: points.length,
      labelled: labelled.length,
      unlabelled: points.length - labelled.length,
      bySource,
      withoutTier,
    },
    scopes,
    tiers,
    document,
    publishable,
    notes,
  };
}

/** A short label of a scope ("overall", "tier high", "tool payments.refund"). */
export function scopeLabel(scope: Scope): string {
  return scope.kind === 'overall' ? 'overall' : scope.kind === 'tier' ? `tier ${scope.tier}` : `tool ${scope.tool}`;
}
