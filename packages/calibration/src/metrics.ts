/**
 * Measures of calibration and of a threshold's effect: expected calibration error, Brier score, log loss,
 * reliability bins and Wilson score intervals. Pure functions over (probability, outcome) pairs.
 */

/** A probability and whether the event happened (1) or not (0). */
export interface Scored {
  readonly p: number;
  readonly y: 0 | 1;
}

/** Probabilities are clipped to [LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON] in the log loss (ln 0 is infinite). */
export const LOG_LOSS_EPSILON = 1e-6;

/** The z of a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** One bin of a reliability diagram: equal-width over [0, 1]. */
export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted probability in the bin (null when empty). */
  readonly meanPredicted: number | null;
  /** Observed frequency of correct outcomes in the bin (null when empty). */
  readonly observed: number | null;
}

/** Equal-width bins over [0, 1]; a probability of exactly 1 falls in the last bin. */
export function reliabilityBins(scored: readonly Scored[], bins = 10): ReliabilityBin[] {
  const sums = Array.from({ length: bins }, () => ({ n: 0, p: 0, y: 0 }));
  for (const s of scored) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(s.p * bins)));
    const b = sums[i]!;
    b.n += 1;
    b.p += s.p;
    b.y += s.y;
  }
  return sums.map((b, i) => ({
    lower: i / bins,
    upper: (i + 1) / bins,
    count: b.n,
    meanPredicted: b.n === 0 ? null : b.p / b.n,
    observed: b.n === 0 ? null : b.y / b.n,
  }));
}

/** Expected calibration error: the count-weighted mean gap between predicted and observed over equal-width bins. */
export function expectedCalibrationError(scored: readonly Scored[], bins = 10): number {
  if (scored.length === 0) return Number.NaN;
  let total = 0;
  for (const b of reliabilityBins(scored, bins)) {
    if (b.count === 0) continue;
    total += b.count * Math.abs((b.meanPredicted ?? 0) - (b.observed ?? 0));
  }
  return total / scored.length;
}

/** Brier score: the mean squared difference between probability and outcome. */
export function brierScore(scored: readonly Scored[]): number {
  if (scored.length === 0) return Number.NaN;
  let total = 0;
  for (const s of scored) total += (s.p - s.y) ** 2;
  return total / scored.length;
}

/** Log loss (natural log), probabilities clipped to [LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON]. */
export function logLoss(scored: readonly Scored[]): number {
  if (scored.length === 0) return Number.NaN;
  let total = 0;
  for (const s of scored) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, s.p));
    total -= s.y === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / scored.length;
}

/** The three measures at once. */
export interface CalibrationMetrics {
  readonly n: number;
  readonly ece: number;
  readonly brier: number;
  readonly logLoss: number;
}

/** ECE, Brier score and log loss of some scored points. */
export function metricsOf(scored: readonly Scored[], bins = 10): CalibrationMetrics {
  return {
    n: scored.length,
    ece: expectedCalibrationError(scored, bins),
    brier: brierScore(scored),
    logLoss: logLoss(scored),
  };
}

/** A proportion with its interval. */
export interface Proportion {
  readonly successes: number;
  readonly n: number;
  /** successes / n (null when n is 0). */
  readonly rate: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
}

/** The Wilson score interval of a proportion (95% by default); null bounds when n is 0. */
export function wilson(successes: number, n: number, z = Z_95): Proportion {
  if (n === 0) return { successes, n, rate: null, lower: null, upper: null };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // The bounds are exactly 0 with no successes and 1 with no failures (the formula leaves float noise there).
  const lower = successes === 0 ? 0 : Math.max(0, centre - half);
  const upper = successes === n ? 1 : Math.min(1, centre + half);
  return { successes, n, rate: p, lower, upper };
}
