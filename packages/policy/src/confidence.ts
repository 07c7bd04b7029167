import { isLargeImpact } from './magnitude.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { CalibrationMap, CheckContext, CheckResult, ConfidenceFigures, RiskTier } from './types.js';

/** Rounds to 1e-9 so that float noise in the interpolation never flips a comparison at a threshold. */
function tidy(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

/**
 * Maps a raw confidence through a piecewise-linear calibration map (linear between points, clamped to [0, 1]).
 * A raw value that is not a finite number counts as 0: it can only make the guard more careful.
 */
export function calibrate(raw: number, map: CalibrationMap): number {
  const x = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
  const points = map.points;
  let previous = points[0];
  if (!previous) return 0;
  if (x <= previous[0]) return tidy(previous[1]);
  for (let i = 1; i < points.length; i += 1) {
    const point = points[i];
    if (!point) break;
    if (x <= point[0]) {
      const [x0, y0] = previous;
      const [x1, y1] = point;
      return tidy(y0 + ((x - x0) * (y1 - y0)) / (x1 - x0));
    }
    previous = point;
  }
  return tidy(previous[1]);
}

/** The confidence figures of a proposal and why its threshold is what it is. */
export interface ConfidenceAssessment extends ConfidenceFigures {
  /** Each floor that set the threshold, e.g. "tier high 0.8", "large magnitude 0.9". */
  readonly basis: readonly string[];
}

/**
 * Calibrates the proposal's raw confidence and works out its threshold: the larger of the policy's threshold for
 * the risk tier (of the tool, or of answers), the tool's own floor, the task's risk.minConfidence, and the
 * large-magnitude threshold when the impact reaches the policy's fraction of a per-action limit. The map is the
 * tool's own when a published calibration has one, else the tier's, else the overall map. The planner's own
 * `calibrated` figure is ignored: the guard calibrates.
 */
export function assessConfidence(ctx: CheckContext): ConfidenceAssessment {
  const { proposal, policy, tool, state } = ctx;
  const { calibration, thresholds, largeMagnitude } = policy.confidence;
  const raw = proposal.confidence.value;
  const tier: RiskTier = proposal.kind === 'answer' || !tool ? policy.answer.riskTier : tool.riskTier;
  const map =
    (proposal.kind === 'action' && tool ? policy.confidence.calibrationByTool?.get(tool.name) : undefined) ??
    policy.confidence.calibrationByTier?.[tier] ??
    calibration;
  const calibrated = calibrate(raw, map);
  const floors: [number | undefined, string][] = [
    [proposal.kind === 'action' && tool ? tool.minConfidence : undefined, `tool ${tool?.name ?? ''}`],
    [state.task.risk.minConfidence, 'task risk.minConfidence'],
  ];
  if (largeMagnitude && proposal.kind === 'action' && state.impact !== null) {
    if (isLargeImpact(state.impact, state.task.limits, largeMagnitude.fractionOfActionLimit)) {
      floors.push([largeMagnitude.threshold, 'large magnitude']);
    }
  }
  let threshold = thresholds[tier];
  const basis = [`tier ${tier} ${thresholds[tier]}`];
  for (const [floor, why] of floors) {
    if (floor === undefined) continue;
    if (floor > threshold) threshold = floor;
    basis.push(`${why} ${floor}`);
  }
  return { raw, calibrated, threshold, calibrationVersion: map.version, tier, basis };
}

/** Confidence check: calibrated confidence under its threshold escalates; exactly at the threshold passes. */
export function checkConfidence(ctx: CheckContext, assessment = assessConfidence(ctx)): CheckResult {
  const { raw, calibrated, threshold, calibrationVersion, basis } = assessment;
  const figures = `calibrated ${calibrated} (raw ${raw}, map ${calibrationVersion}) against threshold ${threshold} (${basis.join(', ')})`;
  if (calibrated >= threshold) return { outcome: 'allow', detail: figures };
  return { outcome: 'escalate', code: GuardReasonCodes.lowConfidence, detail: figures };
}
