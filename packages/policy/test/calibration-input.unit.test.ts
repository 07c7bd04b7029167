import { describe, expect, it } from 'vitest';
import {
  applyCalibration,
  decide,
  parseCalibration,
  PolicyInvalidError,
  type CalibrationDocument,
} from '../src/index.js';
import { act, baseState, defaultPolicy } from './helpers.js';

const query = (confidence: number) =>
  act('customers.query', { collection: 'crm_customers', filter: { status: 'inactive' }, limit: 50 }, { confidence });

function calibration(overrides: Partial<Record<keyof CalibrationDocument, unknown>> = {}): CalibrationDocument {
  return parseCalibration({
    formatVersion: 1,
    version: 'cal-test-1',
    createdAt: '2026-12-04T00:00:00.000Z',
    overall: {
      method: 'isotonic',
      labelledPoints: 500,
      points: [
        [0, 0],
        [1, 0.5],
      ],
    },
    thresholds: { low: 0.3, medium: 0.4, high: 0.75, critical: 0.85 },
    ...overrides,
  });
}

describe('a published calibration', () => {
  it('replaces the map and thresholds, and the verdict names its version', () => {
    const before = decide(baseState(), query(0.9), defaultPolicy);
    expect(before.confidence).toMatchObject({ calibrationVersion: 'cal-2025-01-identity-shrunk' });
    const policy = applyCalibration(defaultPolicy, calibration());
    expect(policy.version).toBe(defaultPolicy.version);
    expect(policy.hash).not.toBe(defaultPolicy.hash);
    const after = decide(baseState(), query(0.9), policy);
    expect(after.confidence).toMatchObject({ calibrated: 0.45, calibrationVersion: 'cal-test-1' });
    expect(after.inputHashes.policy).toBe(policy.hash);
  });

  it('prefers a tool map to a tier map to the overall map', () => {
    const tierOnly = calibration({
      byTier: {
        low: {
          method: 'platt',
          labelledPoints: 300,
          points: [
            [0, 0.2],
            [1, 0.3],
          ],
        },
      },
    });
    const toolToo = calibration({
      byTier: {
        low: {
          method: 'platt',
          labelledPoints: 300,
          points: [
            [0, 0.2],
            [1, 0.3],
          ],
        },
      },
      byTool: {
        'customers.query': {
          method: 'isotonic',
          labelledPoints: 250,
          points: [
            [0, 0.1],
            [1, 0.9],
          ],
        },
      },
    });
    const tier = decide(baseState(), query(1), applyCalibration(defaultPolicy, tierOnly)).confidence;
    expect(tier).toMatchObject({ tier: 'low', calibrated: 0.3, calibrationVersion: 'cal-test-1/tier:low' });
    const tool = decide(baseState(), query(1), applyCalibration(defaultPolicy, toolToo)).confidence;
    expect(tool).toMatchObject({ calibrated: 0.9, calibrationVersion: 'cal-test-1/tool:customers.query' });
  });

  it('refuses a decreasing map and falling thresholds, listing every problem', () => {
    let error: unknown;
    try {
      calibration({
        overall: {
          method: 'isotonic',
          labelledPoints: 1,
          points: [
            [0, 0.6],
            [0.5, 0.4],
            [0.9, 0.9],
          ],
        },
        thresholds: { low: 0.5, medium: 0.4, high: 0.75, critical: 0.85 },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyInvalidError);
    const paths = (error as PolicyInvalidError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['overall.points', 'overall.points[1]', 'thresholds.medium']));
  });
});
