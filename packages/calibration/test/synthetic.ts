import type { LabelledPoint } from '../src/index.js';
import type { RiskTier } from '@warden/policy';

/** mulberry32: a small seeded PRNG, so synthetic data is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Labelled points from an over-confident model: raw confidence uniform in [0.5, 1), the true chance of being right
 * raw^4 (a model that says 0.9 is right about 66% of the time).
 */
export function overconfident(
  n: number,
  seed: number,
  tier: RiskTier = 'high',
  tool = 'payments.refund',
): LabelledPoint[] {
  const random = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const raw = 0.5 + 0.5 * random();
    const correct = random() < raw ** 4;
    return point(`s${seed}-${i}`, raw, correct, tier, tool);
  });
}

/** One labelled (or, with correct null, unlabelled) point. */
export function point(
  id: string,
  raw: number,
  correct: boolean | null,
  tier: RiskTier = 'high',
  tool = 'payments.refund',
): LabelledPoint {
  return {
    id: `task-${id}:a1`,
    taskId: `task-${id}`,
    tenantId: 't1',
    actionId: 'a1',
    kind: 'action',
    tool,
    tier,
    proposedAt: '2026-12-04T00:00:00.000Z',
    confidence: { raw, source: 'structured', logprob: null },
    verdict: null,
    label: correct === null ? null : { correct, source: 'tool_outcome', detail: 'synthetic' },
    evidence: [],
  };
}
