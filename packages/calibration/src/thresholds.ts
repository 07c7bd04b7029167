/**
 * Thresholds: for each candidate threshold, the escalation rate (over every point with a confidence) and the error
 * rate among the actions it would auto-approve (over labelled points), each with a Wilson interval; and the
 * threshold that meets a target, or a plain statement that the data cannot support one.
 */
import { wilson, type Proportion } from './metrics.js';

/** What a threshold is chosen for. */
export type ThresholdTarget =
  /** At most this share of auto-approved actions wrong (judged on the upper bound of its interval). */
  | { readonly kind: 'max_error_rate'; readonly rate: number }
  /** At most this share of proposals escalated (judged on the upper bound of its interval). */
  | { readonly kind: 'max_escalation_rate'; readonly rate: number };

/** One candidate threshold's effect. */
export interface ThresholdRow {
  readonly threshold: number;
  /** Proposals (labelled or not) whose calibrated confidence is below the threshold: a person is asked. */
  readonly escalation: Proportion;
  /** Among labelled proposals at or above the threshold: the share where acting was wrong. */
  readonly errorAmongApproved: Proportion;
}

/** A calibrated confidence, and whether acting was right when known. */
export interface CalibratedPoint {
  readonly calibrated: number;
  /** 1 right, 0 wrong, null unlabelled. */
  readonly y: 0 | 1 | null;
}

/** The candidate thresholds: 0, step, 2 step, ..., 1. */
export function candidateThresholds(step = 0.01): number[] {
  const count = Math.round(1 / step);
  return Array.from({ length: count + 1 }, (_, i) => Math.round(i * step * 1e6) / 1e6);
}

/** The effect of each candidate threshold (at or above it: auto-approved, as the guard's check is). */
export function thresholdTable(points: readonly CalibratedPoint[], thresholds = candidateThresholds()): ThresholdRow[] {
  return thresholds.map((t) => {
    let escalated = 0;
    let approvedLabelled = 0;
    let wrong = 0;
    for (const p of points) {
      if (p.calibrated < t) {
        escalated += 1;
        continue;
      }
      if (p.y === null) continue;
      approvedLabelled += 1;
      if (p.y === 0) wrong += 1;
    }
    return {
      threshold: t,
      escalation: wilson(escalated, points.length),
      errorAmongApproved: wilson(wrong, approvedLabelled),
    };
  });
}

/** A recommendation, or why there is none. */
export type Recommendation =
  | {
      readonly status: 'recommended';
      readonly threshold: number;
      readonly row: ThresholdRow;
      readonly why: string;
    }
  | { readonly status: 'insufficient_data' | 'unreachable'; readonly why: string };

/** Settings of a recommendation. */
export interface RecommendSettings {
  /** Fewer labelled points than this: no recommendation at all. */
  readonly minLabelledPoints: number;
}

/** Default recommendation settings. */
export const DEFAULT_RECOMMEND_SETTINGS: RecommendSettings = { minLabelledPoints: 50 };

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/**
 * The threshold for a target. For an error-rate target: the lowest threshold whose upper 95% bound of the error
 * rate among auto-approved actions is within the target (the most automation the data vouches for). For an
 * escalation-rate target: the highest threshold whose upper bound of the escalation rate is within it. Refuses
 * with `insufficient_data` below minLabelledPoints, and `unreachable` when no threshold meets the target.
 */
export function recommendThreshold(
  table: readonly ThresholdRow[],
  labelled: number,
  target: ThresholdTarget,
  settings: RecommendSettings = DEFAULT_RECOMMEND_SETTINGS,
): Recommendation {
  if (labelled < settings.minLabelledPoints) {
    return {
      status: 'insufficient_data',
      why: `too little data: ${labelled} labelled point(s), at least ${settings.minLabelledPoints} needed to recommend a threshold`,
    };
  }
  if (target.kind === 'max_error_rate') {
    const row = table.find((r) => r.errorAmongApproved.upper !== null && r.errorAmongApproved.upper <= target.rate);
    if (row === undefined) {
      return {
        status: 'unreachable',
        why: `no threshold keeps the upper 95% bound of wrong auto-approvals within ${pct(target.rate)}: more labelled points (or a better-calibrated model) are needed`,
      };
    }
    return {
      status: 'recommended',
      threshold: row.threshold,
      row,
      why: `lowest threshold whose wrong auto-approvals are at most ${pct(row.errorAmongApproved.upper)} (95% upper bound; observed ${pct(row.errorAmongApproved.rate)} of ${row.errorAmongApproved.n}) within the target ${pct(target.rate)}; escalates ${pct(row.escalation.rate)}`,
    };
  }
  const rows = table.filter((r) => r.escalation.upper !== null && r.escalation.upper <= target.rate);
  const row = rows[rows.length - 1];
  if (row === undefined) {
    return {
      status: 'unreachable',
      why: `no threshold keeps escalations within ${pct(target.rate)} (95% upper bound)`,
    };
  }
  return {
    status: 'recommended',
    threshold: row.threshold,
    row,
    why: `highest threshold that escalates at most ${pct(row.escalation.upper)} (95% upper bound; observed ${pct(row.escalation.rate)}) within the target ${pct(target.rate)}; wrong auto-approvals ${pct(row.errorAmongApproved.rate)} (upper ${pct(row.errorAmongApproved.upper)})`,
  };
}
