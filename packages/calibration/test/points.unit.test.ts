import { describe, expect, it } from 'vitest';
import type { EventType, WardenEvent } from '@warden/contracts';
import { labelPoints, taskFactsOf } from '../src/index.js';

/** A minimal event: the labelling reads only type, task, tenant, seq, time and data. */
function ev(taskId: string, seq: number, type: EventType, data: Record<string, unknown>): WardenEvent {
  return {
    type,
    taskId,
    tenantId: 't1',
    seq,
    occurredAt: `2026-12-04T00:00:0${seq}.000Z`,
    data,
  } as unknown as WardenEvent;
}

const record = (actionId: string, reasonCode = 'allowed', grounding: 'allow' | 'escalate' = 'allow') => ({
  proposalEventId: '00000000-0000-4000-8000-000000000000',
  proposalKind: 'action',
  actionId,
  rulesEvaluated: [{ rule: 'grounding', mode: 'enforce', outcome: grounding }],
  ruleFired: null,
  reasonCode,
  policyVersion: 'default.v1',
  inputHashes: { proposal: 'a', state: 'b', policy: 'c' },
  confidence: { raw: 0.9, calibrated: 0.85, threshold: 0.75, tier: 'high', calibrationVersion: 'cal-1' },
});

const proposal = (actionId: string, value: number) => ({
  actionId,
  step: 1,
  tool: 'payments.refund',
  args: {},
  argsHash: 'x',
  reasoning: '',
  confidence: { value, source: 'combined' },
  claims: [],
});

const escalation = (actionId: string, reasonCode: string, escalationId: string) => ({
  escalationId,
  source: 'guard',
  reasonCode,
  reason: '',
  action: null,
  verdict: record(actionId, reasonCode),
  policyVersion: 'default.v1',
  expiresAt: '2026-12-05T00:00:00.000Z',
});

describe('labelled points from the log', () => {
  it('labels each proposal from the strongest evidence, and leaves the rest unlabelled', () => {
    const events: WardenEvent[] = [
      // task A: auto-approved, the tool succeeded; the logprob figure of the model response before it
      ev('A', 1, 'ModelResponded', { logprobConfidence: 0.8 }),
      ev('A', 2, 'ActionProposed', proposal('a1', 0.9)),
      ev('A', 3, 'ActionApproved', { ...record('a1'), tool: 'payments.refund', args: {}, argsHash: 'x' }),
      ev('A', 4, 'ToolFailed', {
        actionId: 'a1',
        tool: 'payments.refund',
        errorClass: 'timeout',
        effectKey: 'k',
        message: '',
        retryable: true,
        durationMs: 1,
      }),
      ev('A', 5, 'ToolSucceeded', {
        actionId: 'a1',
        tool: 'payments.refund',
        effectKey: 'k',
        result: {},
        durationMs: 1,
      }),
      // task B: escalated for low confidence, a person denied it
      ev('B', 1, 'ActionProposed', proposal('b1', 0.4)),
      ev('B', 2, 'EscalationRequested', escalation('b1', 'low_confidence', 'B:b1:guard')),
      ev('B', 3, 'HumanDenied', { escalationId: 'B:b1:guard', actionId: 'b1' }),
      // task C: a review sample, approved by a person
      ev('C', 1, 'ActionProposed', proposal('c1', 0.99)),
      ev('C', 2, 'EscalationRequested', escalation('c1', 'calibration_review', 'C:c1:guard')),
      ev('C', 3, 'HumanApproved', { escalationId: 'C:c1:guard', actionId: 'c1' }),
      // task D: a failed fact-check; the tool never ran
      ev('D', 1, 'ActionProposed', proposal('d1', 0.95)),
      ev('D', 2, 'EscalationRequested', {
        ...escalation('d1', 'ungrounded', 'D:d1:guard'),
        verdict: record('d1', 'ungrounded', 'escalate'),
      }),
      // task E: approved, the tool timed out: infrastructure, not a label
      ev('E', 1, 'ActionProposed', proposal('e1', 0.7)),
      ev('E', 2, 'ActionApproved', { ...record('e1'), tool: 'payments.refund', args: {}, argsHash: 'x' }),
      ev('E', 3, 'ToolFailed', {
        actionId: 'e1',
        tool: 'payments.refund',
        errorClass: 'timeout',
        effectKey: 'k',
        message: '',
        retryable: true,
        durationMs: 1,
      }),
    ];
    const points = labelPoints(taskFactsOf(events));
    const byId = new Map(points.map((p) => [p.id, p]));
    expect(points).toHaveLength(5);
    expect(byId.get('A:a1')).toMatchObject({
      tier: 'high',
      confidence: { raw: 0.9, source: 'combined', logprob: 0.8 },
      verdict: { outcome: 'allow', calibrated: 0.85, calibrationVersion: 'cal-1', reviewSample: false },
      label: { correct: true, source: 'tool_outcome' },
    });
    expect(byId.get('B:b1')?.label).toMatchObject({ correct: false, source: 'person' });
    expect(byId.get('C:c1')).toMatchObject({
      verdict: { reviewSample: true },
      label: { correct: true, source: 'review' },
    });
    expect(byId.get('D:d1')?.label).toMatchObject({ correct: false, source: 'fact_check' });
    expect(byId.get('E:e1')).toMatchObject({ label: null, evidence: [] });
    // the same events in another order, or read twice, give the same points
    expect(labelPoints(taskFactsOf([...events, ...events].reverse()))).toEqual(points);
  });
});
