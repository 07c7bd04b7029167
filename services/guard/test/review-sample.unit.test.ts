import { describe, expect, it } from 'vitest';
import type { Verdict } from '@warden/policy';
import { withReviewSample } from '../src/index.js';

const allowed: Verdict = {
  outcome: 'allow',
  reasonCode: 'allowed',
  ruleFired: null,
  message: 'allowed by policy default.v1',
  rulesEvaluated: [{ rule: 'confidence', mode: 'enforce', outcome: 'allow' }],
  warnings: [],
  policyVersion: 'default.v1',
  inputHashes: { proposal: 'a'.repeat(64), state: 'b'.repeat(64), policy: 'c'.repeat(64) },
  argsHash: 'd'.repeat(64),
  confidence: { raw: 0.99, calibrated: 0.95, threshold: 0.6, calibrationVersion: 'cal-1', tier: 'medium' },
};

describe('the review sample of auto-approved actions', () => {
  it('escalates a sampled action for review, saying why, and keeps its confidence figures', () => {
    const sampled = withReviewSample(allowed, 'task-1:a1', 'action', { rate: 1, salt: 's' });
    expect(sampled).toMatchObject({
      outcome: 'escalate',
      reasonCode: 'calibration_review',
      ruleFired: 'calibration_review',
    });
    expect(sampled.rulesEvaluated.at(-1)).toMatchObject({ rule: 'calibration_review', outcome: 'escalate' });
    expect(sampled.confidence).toEqual(allowed.confidence);
  });

  it('leaves answers, denials, escalations and unsampled actions alone', () => {
    expect(withReviewSample(allowed, 'task-1:a1', 'answer', { rate: 1, salt: 's' })).toBe(allowed);
    expect(withReviewSample(allowed, 'task-1:a1', 'action', { rate: 0, salt: 's' })).toBe(allowed);
    expect(withReviewSample(allowed, 'task-1:a1', 'action', undefined)).toBe(allowed);
    const denied: Verdict = { ...allowed, outcome: 'deny', reasonCode: 'out_of_scope' };
    expect(withReviewSample(denied, 'task-1:a1', 'action', { rate: 1, salt: 's' })).toBe(denied);
  });

  it('samples about its rate, the same keys every time', () => {
    const keys = Array.from({ length: 4_000 }, (_, i) => `task-${i}:a1`);
    const pick = () =>
      keys.filter((k) => withReviewSample(allowed, k, 'action', { rate: 0.1, salt: 's' }).outcome === 'escalate');
    const first = pick();
    expect(first.length).toBeGreaterThan(300);
    expect(first.length).toBeLessThan(500);
    expect(pick()).toEqual(first);
  });
});
