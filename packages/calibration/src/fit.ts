/**
 * Calibration maps: isotonic regression (pool-adjacent-violators) and Platt scaling (a logistic regression on the
 * logit of the raw confidence, fitted by Newton's method with Platt's smoothed targets), chosen by k-fold
 * cross-validation on log loss. A map is a list of [raw, calibrated] points from raw 0 to raw 1, raw rising and
 * calibrated never falling: the form a policy's calibration map takes (calibrate() in @warden/policy applies it).
 */
import { calibrate } from '@warden/policy';
import { logLoss, type Scored } from './metrics.js';

/** A raw confidence and whether acting was right. */
export interface Observation {
  readonly raw: number;
  readonly y: 0 | 1;
}

/** How a map was fitted. */
export type FitMethod = 'isotonic' | 'platt' | 'identity';

/** A fitted map. */
export interface FittedMap {
  readonly method: FitMethod;
  readonly points: [number, number][];
  readonly labelledPoints: number;
}

/** The identity map (no calibration). */
export const IDENTITY_POINTS: readonly [number, number][] = [
  [0, 0],
  [1, 1],
];

/** Rounds to 1e-6, so a map's points are short in JSON and stable across platforms. */
function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Makes points a valid map: raw strictly rising from 0 to 1, calibrated never falling, all in [0, 1]. */
function tidyMap(points: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [x, y] of [...points].sort((a, b) => a[0] - b[0])) {
    const rx = round6(Math.min(1, Math.max(0, x)));
    const ry = round6(Math.min(1, Math.max(0, y)));
    const last = out[out.length - 1];
    if (last !== undefined && rx <= last[0]) {
      last[1] = Math.max(last[1], ry);
      continue;
    }
    out.push([rx, last === undefined ? ry : Math.max(last[1], ry)]);
  }
  const first = out[0];
  if (first === undefined) return IDENTITY_POINTS.map(([x, y]) => [x, y]);
  if (first[0] > 0) out.unshift([0, first[1]]);
  const last = out[out.length - 1]!;
  if (last[0] < 1) out.push([1, last[1]]);
  return out;
}

/**
 * Isotonic regression by pool-adjacent-violators: the non-decreasing step function of raw that minimises squared
 * error. Returned as a piecewise-linear map through each block's mean raw value and its observed rate (flat beyond
 * the first and last block).
 */
export function fitIsotonic(data: readonly Observation[]): [number, number][] {
  if (data.length === 0) return IDENTITY_POINTS.map(([x, y]) => [x, y]);
  const sorted = [...data].sort((a, b) => a.raw - b.raw || a.y - b.y);
  // Equal raw values form one block from the start: the map is a function of raw.
  const blocks: { sumX: number; sumY: number; n: number }[] = [];
  for (const o of sorted) {
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.sumX / last.n === o.raw) {
      last.sumX += o.raw;
      last.sumY += o.y;
      last.n += 1;
    } else blocks.push({ sumX: o.raw, sumY: o.y, n: 1 });
  }
  const stack: { sumX: number; sumY: number; n: number }[] = [];
  for (const b of blocks) {
    let current = { ...b };
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined || top.sumY / top.n < current.sumY / current.n) break;
      stack.pop();
      current = { sumX: top.sumX + current.sumX, sumY: top.sumY + current.sumY, n: top.n + current.n };
    }
    stack.push(current);
  }
  return tidyMap(stack.map((b) => [b.sumX / b.n, b.sumY / b.n]));
}

/** The raw values Platt maps are tabulated at: every 0.01 (a piecewise-linear map of 101 points). */
const PLATT_GRID = Array.from({ length: 101 }, (_, i) => i / 100);
/** Raw confidences are clipped to [PLATT_CLIP, 1 - PLATT_CLIP] before the logit. */
const PLATT_CLIP = 1e-4;
const NEWTON_ITERATIONS = 100;

function logit(p: number): number {
  const c = Math.min(1 - PLATT_CLIP, Math.max(PLATT_CLIP, p));
  return Math.log(c / (1 - c));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Platt scaling: p = sigmoid(a * logit(raw) + b), fitted by Newton's method on Platt's smoothed targets
 * ((positives + 1) / (positives + 2) and 1 / (negatives + 2)), which keeps a small sample from fitting 0 or 1.
 * A negative slope (confidence that predicts failure) is refused: the map is then the flat base rate.
 */
export function fitPlatt(data: readonly Observation[]): { a: number; b: number } {
  const positives = data.filter((o) => o.y === 1).length;
  const negatives = data.length - positives;
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  const xs = data.map((o) => logit(o.raw));
  const ts = data.map((o) => (o.y === 1 ? hi : lo));
  let a = 1;
  let b = 0;
  for (let iteration = 0; iteration < NEWTON_ITERATIONS; iteration++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const p = sigmoid(a * x + b);
      const d = p - ts[i]!;
      const w = p * (1 - p);
      ga += d * x;
      gb += d;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-12) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  if (!(a >= 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    const rate = data.length === 0 ? 0.5 : (positives + 1) / (data.length + 2);
    return { a: 0, b: logit(rate) };
  }
  return { a, b };
}

/** A Platt fit as a map (tabulated every 0.01 of raw). */
export function plattMap(data: readonly Observation[]): [number, number][] {
  const { a, b } = fitPlatt(data);
  return tidyMap(PLATT_GRID.map((x) => [x, sigmoid(a * logit(x) + b)]));
}

/** Settings of a fit. */
export interface FitSettings {
  /** Below this many labelled points no map is fitted (the identity stands). */
  readonly minPointsToFit: number;
  /** Below this many, isotonic regression is not tried: Platt scaling is the small-sample fallback. */
  readonly minPointsForIsotonic: number;
  /** Folds of the cross-validation that picks the method. */
  readonly folds: number;
}

/** Default fit settings. */
export const DEFAULT_FIT_SETTINGS: FitSettings = { minPointsToFit: 30, minPointsForIsotonic: 100, folds: 5 };

function mapOf(method: FitMethod, data: readonly Observation[]): [number, number][] {
  if (method === 'isotonic') return fitIsotonic(data);
  if (method === 'platt') return plattMap(data);
  return IDENTITY_POINTS.map(([x, y]) => [x, y]);
}

/** Applies a map (as the guard does) to raw confidences. */
export function applyMap(points: readonly (readonly [number, number])[], raw: number): number {
  return calibrate(raw, { version: 'fit', points });
}

/**
 * The out-of-fold predictions of a method: each observation predicted by a map fitted on the other folds. Folds are
 * assigned round-robin over the observations sorted by raw, so each fold spans the whole range (deterministic).
 */
export function crossValidated(
  method: FitMethod,
  data: readonly Observation[],
  folds: number,
): { scored: Scored[]; logLoss: number } {
  const order = data.map((o, i) => ({ o, i })).sort((a, b) => a.o.raw - b.o.raw || a.i - b.i);
  const foldOf = new Map<number, number>(order.map((entry, rank) => [entry.i, rank % folds]));
  const scored: Scored[] = [];
  for (let f = 0; f < folds; f++) {
    const train = data.filter((_, i) => foldOf.get(i) !== f);
    const test = data.filter((_, i) => foldOf.get(i) === f);
    if (test.length === 0) continue;
    const points = mapOf(method, train);
    for (const o of test) scored.push({ p: applyMap(points, o.raw), y: o.y });
  }
  return { scored, logLoss: logLoss(scored) };
}

/** A fit and how the methods compared. */
export interface FitResult extends FittedMap {
  /** Cross-validated log loss of each method tried (lower is better). */
  readonly crossValidation: Partial<Record<FitMethod, number>>;
  /** The chosen method's out-of-fold predictions (an honest estimate of the fitted map's calibration). */
  readonly outOfFold: Scored[];
  /** Why this method (e.g. "too few labelled points to fit"). */
  readonly why: string;
}

/**
 * Fits a map: nothing below minPointsToFit (the identity, and says so), Platt scaling below minPointsForIsotonic,
 * else whichever of isotonic and Platt has the lower cross-validated log loss.
 */
export function fitCalibration(data: readonly Observation[], settings: FitSettings = DEFAULT_FIT_SETTINGS): FitResult {
  const n = data.length;
  const positives = data.filter((o) => o.y === 1).length;
  if (n < settings.minPointsToFit || positives === 0 || positives === n) {
    return {
      method: 'identity',
      points: mapOf('identity', data),
      labelledPoints: n,
      crossValidation: {},
      outOfFold: data.map((o) => ({ p: applyMap(IDENTITY_POINTS, o.raw), y: o.y })),
      why:
        n < settings.minPointsToFit
          ? `too little data: ${n} labelled point(s), at least ${settings.minPointsToFit} needed to fit a map`
          : `every labelled point has the same outcome: nothing to fit`,
    };
  }
  const methods: FitMethod[] = n >= settings.minPointsForIsotonic ? ['isotonic', 'platt'] : ['platt'];
  const folds = Math.min(settings.folds, n);
  const crossValidation: Partial<Record<FitMethod, number>> = {};
  let best: { method: FitMethod; scored: Scored[]; loss: number } | undefined;
  for (const method of methods) {
    const cv = crossValidated(method, data, folds);
    crossValidation[method] = cv.logLoss;
    if (best === undefined || cv.logLoss < best.loss) best = { method, scored: cv.scored, loss: cv.logLoss };
  }
  const chosen = best!;
  return {
    method: chosen.method,
    points: mapOf(chosen.method, data),
    labelledPoints: n,
    crossValidation,
    outOfFold: chosen.scored,
    why:
      methods.length === 1
        ? `Platt scaling: ${n} labelled points, fewer than ${settings.minPointsForIsotonic} for isotonic regression`
        : `${chosen.method}: lower ${folds}-fold cross-validated log loss (${methods.map((m) => `${m} ${crossValidation[m]?.toFixed(4)}`).join(', ')})`,
  };
}
