import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type ConditionDoc, type GuardState, type Proposal } from '../src/index.js';
import { act, allTools, answer, baseState, defaultPolicy, impact, policyWith } from './helpers.js';

/** A pool of proposals with every kind of baseline verdict: allow, deny and escalate. */
const pool: { state: GuardState; proposal: Proposal }[] = [
  { state: baseState(), proposal: act('customers.query', { collection: 'crm_customers', filter: {} }) },
  { state: baseState(), proposal: act('customers.query', { collection: 'orders', filter: {} }) },
  {
    state: baseState({ impact: impact({ rows: 3 }) }),
    proposal: act('customers.delete', { collection: 'crm_customers', ids: ['C-1001'] }),
  },
  {
    state: baseState({ impact: impact({ rows: 300 }) }),
    proposal: act('customers.delete', { collection: 'crm_customers', ids: ['C-1001'] }),
  },
  {
    state: baseState({ impact: impact({ rows: 1 }) }),
    proposal: act('customers.delete', { collection: 'crm_customers', ids: ['C-4242'] }),
  },
  { state: baseState(), proposal: act('customers.delete', { collection: 'crm_customers', ids: ['C-1001'] }) },
  {
    state: baseState({ impact: impact({ recipients: 1 }) }),
    proposal: act('email.send', { to: ['ops@example.com'], subject: 's', body: 'b' }),
  },
  { state: baseState(), proposal: act('http.get', { url: 'https://api.example.com/' }, { confidence: 0.2 }) },
  { state: baseState(), proposal: answer('All done.') },
  { state: baseState(), proposal: answer('password: hunter2hunter2') },
];

const figure = fc.integer({ min: 0, max: 400 });
const leaf: fc.Arbitrary<ConditionDoc> = fc.oneof(
  fc.constantFrom<ConditionDoc>({ kind: 'action' }, { kind: 'answer' }, { destructive: true }, { destructive: false }),
  fc.subarray(allTools, { minLength: 1 }).map((tool): ConditionDoc => ({ tool })),
  fc
    .subarray(['low', 'medium', 'high', 'critical'] as const, { minLength: 1 })
    .map((tierIn): ConditionDoc => ({ tierIn: [...tierIn] })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((confidenceBelow): ConditionDoc => ({ confidenceBelow })),
  fc.integer({ min: 1, max: 3 }).map((claimsFewerThan): ConditionDoc => ({ claimsFewerThan })),
  figure.map((rows): ConditionDoc => ({ impactAbove: { rows } })),
  figure.map((rows): ConditionDoc => ({ cumulativeImpactAbove: { rows } })),
  fc.constantFrom<ConditionDoc>(
    { answerMatches: '.' },
    { argExists: ['collection'] },
    { argMatches: { collection: '^crm_' } },
    { argEquals: { collection: 'crm_customers' } },
  ),
);
const condition: fc.Arbitrary<ConditionDoc> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 3 }).map((any): ConditionDoc => ({ any })) },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 3 }).map((all): ConditionDoc => ({ all })) },
  { weight: 1, arbitrary: leaf.map((not): ConditionDoc => ({ not })) },
);
const rules = (mode: 'log_only' | 'warn' | 'enforce') =>
  fc.array(
    fc
      .record({ when: condition, effect: fc.constantFrom('deny' as const, 'escalate' as const) })
      .map((r) => ({ ...r, mode })),
    { minLength: 1, maxLength: 5 },
  );

function withExtraRules(extra: { when: ConditionDoc; effect: 'deny' | 'escalate'; mode: string }[]) {
  return policyWith((doc) => {
    doc.rules = [
      ...(doc.rules as unknown[]),
      ...extra.map((r, i) => ({
        id: `generated-${i}`,
        description: 'generated',
        mode: r.mode,
        when: r.when,
        effect: r.effect,
        code: `generated_${i}`,
      })),
    ];
  });
}

const core = (v: ReturnType<typeof decide>) => ({
  outcome: v.outcome,
  reasonCode: v.reasonCode,
  ruleFired: v.ruleFired,
});

describe('log_only and warn rules never block', () => {
  it('adding log_only rules never changes a verdict, though they record what they would do', () => {
    let recordedWouldBlock = 0;
    fc.assert(
      fc.property(fc.constantFrom(...pool), rules('log_only'), ({ state, proposal }, extra) => {
        const baseline = decide(state, proposal, defaultPolicy);
        const verdict = decide(state, proposal, withExtraRules(extra));
        expect(core(verdict)).toEqual(core(baseline));
        expect(verdict.warnings).toEqual(baseline.warnings);
        const generated = verdict.rulesEvaluated.filter((r) => r.rule.startsWith('generated-'));
        expect(generated).toHaveLength(extra.length);
        expect(generated.every((r) => r.mode === 'log_only')).toBe(true);
        recordedWouldBlock += generated.filter((r) => r.outcome === 'deny' || r.outcome === 'escalate').length;
      }),
      { numRuns: 400 },
    );
    expect(recordedWouldBlock).toBeGreaterThan(0);
  });

  it('adding warn rules never changes a verdict; each one that would block is a warning', () => {
    fc.assert(
      fc.property(fc.constantFrom(...pool), rules('warn'), ({ state, proposal }, extra) => {
        const baseline = decide(state, proposal, defaultPolicy);
        const verdict = decide(state, proposal, withExtraRules(extra));
        expect(core(verdict)).toEqual(core(baseline));
        const wouldBlock = verdict.rulesEvaluated.filter(
          (r) => r.rule.startsWith('generated-') && (r.outcome === 'deny' || r.outcome === 'escalate'),
        );
        expect(verdict.warnings.filter((w) => w.rule.startsWith('generated-')).map((w) => w.rule)).toEqual(
          wouldBlock.map((r) => r.rule),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('the same rules in enforce mode do block (so the properties above are not vacuous)', () => {
    let changed = 0;
    fc.assert(
      fc.property(fc.constantFrom(...pool), rules('enforce'), ({ state, proposal }, extra) => {
        const baseline = decide(state, proposal, defaultPolicy);
        const verdict = decide(state, proposal, withExtraRules(extra));
        if (verdict.outcome !== baseline.outcome) changed += 1;
        if (baseline.outcome === 'deny') expect(core(verdict)).toEqual(core(baseline));
      }),
      { numRuns: 400 },
    );
    expect(changed).toBeGreaterThan(0);
  });

  it('grounding and confidence checks in log_only mode never fire', () => {
    const soft = policyWith((doc) => {
      doc.checks = { grounding: 'log_only', confidence: 'log_only' };
    });
    for (const { state, proposal } of pool) {
      const verdict = decide(state, proposal, soft);
      expect(['grounding', 'confidence']).not.toContain(verdict.ruleFired);
      expect(verdict.warnings.map((w) => w.rule)).not.toContain('grounding');
    }
  });
});
