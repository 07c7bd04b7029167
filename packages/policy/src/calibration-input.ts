/**
 * A published calibration (ADR 0025): a versioned policy input that replaces a policy's calibration map and
 * thresholds. It is fitted offline (`warden calibrate`), backtested against recorded traffic, and then published;
 * the guard applies it only once it is published, and every verdict names the version of the map it used.
 */
import { z } from 'zod';
import { canonicalHash, type ValidationIssue } from '@warden/contracts';
import { PolicyInvalidError } from './errors.js';
import { formatPath } from './format.js';
import { calibrationMapIssues, thresholdIssues } from './load-policy.js';
import { RiskTiers, type CalibrationMap, type Policy, type RiskTier } from './types.js';

const Unit = z.number().min(0).max(1);
const Points = z
  .array(z.tuple([Unit, Unit]))
  .min(2)
  .max(1_000);
const MethodName = z.enum(['isotonic', 'platt', 'identity', 'policy']);

/** One fitted map of a calibration document: its points and how it was fitted. */
const FittedMap = z
  .object({
    points: Points,
    /** How the map was fitted: isotonic regression, Platt scaling, the identity, or kept from the policy in force. */
    method: MethodName,
    /** How many labelled points it was fitted on. */
    labelledPoints: z.number().int().nonnegative(),
  })
  .strict();

/** The zod schema of a calibration document (what `warden calibrate --publish` writes to the calibrations topic). */
export const CalibrationDocument = z
  .object({
    formatVersion: z.literal(1),
    /** The calibration's version, e.g. "cal-20261204T0930Z-3f2a1c"; verdicts name it (with the map's scope). */
    version: z
      .string()
      .min(1)
      .max(120)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'expected letters, digits and . _ : -'),
    createdAt: z.iso.datetime(),
    description: z.string().max(2_000).optional(),
    /** The map for every proposal no more specific map covers. */
    overall: FittedMap,
    /** Maps per risk tier, where the data allowed one. */
    byTier: z.partialRecord(z.enum(RiskTiers), FittedMap).default({}),
    /** Maps per tool, where the data allowed one. */
    byTool: z.record(z.string().min(1).max(200), FittedMap).default({}),
    /** Minimum calibrated confidence per risk tier (they must rise with the tier). */
    thresholds: z.object({ low: Unit, medium: Unit, high: Unit, critical: Unit }).strict(),
  })
  .strict();

/** A calibration document, as parsed. */
export type CalibrationDocument = z.infer<typeof CalibrationDocument>;

/** The version a verdict names for a map of a calibration: the calibration's, with the map's scope. */
export function calibrationMapVersion(version: string, scope: { tier?: RiskTier; tool?: string } = {}): string {
  if (scope.tool !== undefined) return `${version}/tool:${scope.tool}`;
  if (scope.tier !== undefined) return `${version}/tier:${scope.tier}`;
  return version;
}

/**
 * Parses and checks a calibration document (JSON text or a parsed value): the schema, then what it cannot see
 * (every map covers raw 0 to 1 and never decreases, thresholds rise with the tier). Throws a PolicyInvalidError
 * listing every problem with its path.
 */
export function parseCalibration(source: unknown): CalibrationDocument {
  let value = source;
  if (typeof source === 'string') {
    try {
      value = JSON.parse(source) as unknown;
    } catch (error) {
      throw new PolicyInvalidError('calibration is not valid JSON', [{ path: '', message: (error as Error).message }], {
        cause: error,
      });
    }
  }
  const parsed = CalibrationDocument.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: formatPath('', i.path), message: i.message }));
    throw new PolicyInvalidError('calibration does not match the calibration schema', issues);
  }
  const doc = parsed.data;
  const issues: ValidationIssue[] = [];
  const mapIssues = (path: PropertyKey[], points: readonly (readonly [number, number])[]): void => {
    for (const i of calibrationMapIssues(points)) {
      issues.push({ path: formatPath('', [...path, 'points', ...i.path]), message: i.message });
    }
  };
  mapIssues(['overall'], doc.overall.points);
  for (const [tier, map] of Object.entries(doc.byTier)) if (map) mapIssues(['byTier', tier], map.points);
  for (const [tool, map] of Object.entries(doc.byTool)) mapIssues(['byTool', tool], map.points);
  for (const i of thresholdIssues(doc.thresholds)) {
    issues.push({ path: formatPath('', ['thresholds', ...i.path]), message: i.message });
  }
  if (issues.length > 0) throw new PolicyInvalidError(`calibration ${doc.version} is incoherent`, issues);
  return doc;
}

/**
 * The policy with a calibration applied: its maps (overall, per tier, per tool) and thresholds replace the policy
 * file's; the tools' floors, the large-magnitude threshold and everything else stay. The policy version stays (a
 * person's pending decision binds to it); the policy hash, recorded in every verdict's inputHashes, covers the
 * calibration too. Pure: the same inputs give the same policy.
 */
export function applyCalibration(policy: Policy, calibration: CalibrationDocument): Policy {
  const mapOf = (points: readonly (readonly [number, number])[], version: string): CalibrationMap => ({
    version,
    points,
  });
  const byTier: Partial<Record<RiskTier, CalibrationMap>> = {};
  for (const tier of RiskTiers) {
    const fitted = calibration.byTier[tier];
    if (fitted) byTier[tier] = mapOf(fitted.points, calibrationMapVersion(calibration.version, { tier }));
  }
  const byTool = new Map<string, CalibrationMap>();
  for (const [tool, fitted] of Object.entries(calibration.byTool).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    byTool.set(tool, mapOf(fitted.points, calibrationMapVersion(calibration.version, { tool })));
  }
  return {
    ...policy,
    hash: canonicalHash({ policy: policy.hash, calibration }),
    confidence: {
      calibration: mapOf(calibration.overall.points, calibration.version),
      calibrationByTier: byTier,
      calibrationByTool: byTool,
      thresholds: calibration.thresholds,
      largeMagnitude: policy.confidence.largeMagnitude,
    },
  };
}
