import { describe, expect, it } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  applyMap,
  expectedCalibrationError,
  fitCalibration,
  fitIsotonic,
  inReviewSample,
  recommendThreshold,
  reliabilityBins,
  reliabilityDiagramSvg,
  reportHtml,
  runCalibration,
  thresholdTable,
  wilson,
  type CurrentCalibration,
  type LabelledPoint,
} from '../src/index.js';
import { overconfident, point } from './synthetic.js';

const identityNow: CurrentCalibration = {
  version: 'cal-identity',
  points: [
    [0, 0],
    [1, 1],
  ],
  thresholds: { low: 0.3, medium: 0.6, high: 0.75, critical: 0.85 },
};

const run = (points: readonly LabelledPoint[], target = { kind: 'max_error_rate' as const, rate: 0.05 }) =>
  runCalibration(points, {
    version: 'cal-test',
    createdAt: '2026-12-04T00:00:00.000Z',
    current: identityNow,
    target,
  });

const scoredBy = (points: readonly (readonly [number, number])[], test: readonly LabelledPoint[]) =>
  test.map((p) => ({
    p: applyMap(points, p.confidence.raw),
    y: p.label?.correct === true ? (1 as const) : (0 as const),
  }));

describe('fitting a calibration map', () => {
  const train = overconfident(4_000, 1);
  const test = overconfident(4_000, 2);

  it('lowers the ECE of an over-confident model on held-out points', () => {
    const result = run(train);
    const fitted = result.document.overall.points;
    const before = expectedCalibrationError(scoredBy(identityNow.points, test));
    const after = expectedCalibrationError(scoredBy(fitted, test));
    expect(before).toBeGreaterThan(0.15); // raw^4 against raw: a large gap
    expect(after).toBeLessThan(0.03);
    expect(after).toBeLessThan(before / 5);
    // and the run's own (cross-validated) figures say the same
    expect(result.scopes[0]!.after.ece).toBeLessThan(result.scopes[0]!.before.ece);
  });

  it('recommends a threshold that meets its target on held-out points', () => {
    const target = 0.1;
    const result = run(train, { kind: 'max_error_rate', rate: target });
    const high = result.tiers.find((t) => t.tier === 'high')!;
    expect(high.recommendation.status).toBe('recommended');
    const threshold = high.published;
    const approved = scoredBy(result.document.overall.points, test).filter((s) => s.p >= threshold);
    expect(approved.length).toBeGreaterThan(0);
    const wrong = approved.filter((s) => s.y === 0).length / approved.length;
    expect(wrong).toBeLessThanOrEqual(target);
  });

  it('keeps every map valid for the guard: from raw 0 to 1, raw rising, calibrated never falling', () => {
    for (const points of [
      fitIsotonic(train.map((p) => ({ raw: p.confidence.raw, y: p.label!.correct ? 1 : 0 }))),
      run(train).document.overall.points,
    ]) {
      expect(points[0]![0]).toBe(0);
      expect(points[points.length - 1]![0]).toBe(1);
      for (let i = 1; i < points.length; i++) {
        expect(points[i]![0]).toBeGreaterThan(points[i - 1]![0]);
        expect(points[i]![1]).toBeGreaterThanOrEqual(points[i - 1]![1]);
      }
    }
  });

  it('uses Platt scaling for a small sample and a cross-validated choice for a large one', () => {
    const small = overconfident(60, 3).map((p) => ({
      raw: p.confidence.raw,
      y: p.label!.correct ? (1 as const) : (0 as const),
    }));
    expect(fitCalibration(small).method).toBe('platt');
    const large = train.map((p) => ({ raw: p.confidence.raw, y: p.label!.correct ? (1 as const) : (0 as const) }));
    const fit = fitCalibration(large);
    expect(Object.keys(fit.crossValidation).sort()).toEqual(['isotonic', 'platt']);
    expect(fit.crossValidation[fit.method]).toBe(Math.min(...Object.values(fit.crossValidation)));
  });

  it('pools adjacent violators into a non-decreasing step', () => {
    const data = [
      { raw: 0.1, y: 1 as const },
      { raw: 0.2, y: 0 as const },
      { raw: 0.3, y: 0 as const },
      { raw: 0.4, y: 1 as const },
    ];
    // 1,0,0 pools to 1/3 at mean raw 0.2; then 1 at 0.4
    expect(fitIsotonic(data)).toEqual([
      [0, 0.333333],
      [0.2, 0.333333],
      [0.4, 1],
      [1, 1],
    ]);
  });

  it('fits per tier or tool only where the data allows', () => {
    const points = [...overconfident(400, 4, 'high', 'payments.refund'), ...overconfident(40, 5, 'low', 'files.read')];
    const result = runCalibration(points, {
      version: 'cal-test',
      createdAt: '2026-12-04T00:00:00.000Z',
      current: identityNow,
      target: { kind: 'max_escalation_rate', rate: 0.5 },
      minPointsPerScope: 200,
    });
    expect(Object.keys(result.document.byTier ?? {})).toEqual(['high']);
    expect(Object.keys(result.document.byTool ?? {})).toEqual(['payments.refund']);
  });
});

describe('too little data', () => {
  it('refuses to fit or recommend, and says so', () => {
    const few = overconfident(12, 6);
    const result = run(few);
    expect(result.publishable).toBe(false);
    expect(result.document.overall.method).toBe('policy');
    expect(result.document.overall.points).toEqual(identityNow.points);
    for (const t of result.tiers) {
      expect(t.recommendation.status).toBe('insufficient_data');
      expect(t.published).toBe(identityNow.thresholds[t.tier]);
    }
    expect(result.notes.join(' ')).toMatch(/too little data/);
  });

  it('calls a target no threshold can vouch for unreachable', () => {
    const mediocre = Array.from({ length: 200 }, (_, i) => point(`m${i}`, 0.9, i % 2 === 0));
    const table = thresholdTable(mediocre.map((p) => ({ calibrated: p.confidence.raw, y: p.label!.correct ? 1 : 0 })));
    const rec = recommendThreshold(table, 200, { kind: 'max_error_rate', rate: 0.01 });
    expect(rec.status).toBe('unreachable');
  });
});

describe('thresholds', () => {
  it('counts unlabelled points in escalations only, with Wilson intervals', () => {
    const rows = thresholdTable([
      { calibrated: 0.2, y: null },
      { calibrated: 0.8, y: 1 },
      { calibrated: 0.9, y: 0 },
      { calibrated: 0.95, y: null },
    ]);
    const at = rows.find((r) => r.threshold === 0.5)!;
    expect(at.escalation).toMatchObject({ successes: 1, n: 4 });
    expect(at.errorAmongApproved).toMatchObject({ successes: 1, n: 2, rate: 0.5 });
  });

  it('computes the Wilson interval', () => {
    const w = wilson(0, 100);
    expect(w.lower).toBe(0);
    expect(w.upper).toBeCloseTo(0.037, 3);
    const half = wilson(50, 100);
    expect(half.lower).toBeCloseTo(0.4038, 3);
    expect(half.upper).toBeCloseTo(0.5962, 3);
    expect(wilson(0, 0).rate).toBeNull();
  });
});

describe('the report', () => {
  it('draws a valid SVG of the stated size with the bin counts', () => {
    const points = overconfident(500, 7);
    const scored = points.map((p) => ({ p: p.confidence.raw, y: p.label!.correct ? (1 as const) : (0 as const) }));
    const bins = reliabilityBins(scored);
    const svg = reliabilityDiagramSvg(bins, bins, { widthPx: 640, heightPx: 400, title: 'a <test> & "title"' });
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg) as {
      svg: {
        width: string;
        height: string;
        viewBox: string;
        text: ({ '#text'?: string | number; class?: string } | string)[];
      };
    };
    expect(doc.svg.width).toBe('640');
    expect(doc.svg.height).toBe('400');
    expect(doc.svg.viewBox).toBe('0 0 640 400');
    const counts = doc.svg.text
      .filter((t): t is { '#text': number; class: string } => typeof t === 'object' && t.class === 'bin-count')
      .map((t) => Number(t['#text']));
    expect(counts.slice(0, 10)).toEqual(bins.map((b) => b.count));
    expect(counts.slice(0, 10).reduce((a, b) => a + b, 0)).toBe(500);
  });

  it('renders an HTML page that says when the data is too little', () => {
    const html = reportHtml(run(overconfident(10, 8)));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('too little data');
    expect(html).toContain('<svg');
  });
});

describe('the review sample', () => {
  it('is deterministic and close to its rate', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `task-${i}:a1`);
    const picked = keys.filter((k) => inReviewSample(k, 0.05, 'salt'));
    expect(picked.length / keys.length).toBeGreaterThan(0.04);
    expect(picked.length / keys.length).toBeLessThan(0.06);
    expect(keys.filter((k) => inReviewSample(k, 0.05, 'salt'))).toEqual(picked);
    expect(keys.filter((k) => inReviewSample(k, 0.05, 'other')).length).not.toBe(0);
    expect(keys.filter((k) => inReviewSample(k, 0.05, 'other'))).not.toEqual(picked);
    expect(inReviewSample('x', 0, 'salt')).toBe(false);
    expect(inReviewSample('x', 1, 'salt')).toBe(true);
  });
});
