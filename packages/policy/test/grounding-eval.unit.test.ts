import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Claim, JsonValue } from '@warden/contracts';
import {
  buildCheckContext,
  checkGrounding,
  checkSchema,
  type GuardState,
  type RetrievalFact,
  type ToolResultRecord,
} from '../src/index.js';
import { act, baseState, defaultPolicy, taskWith } from './helpers.js';

interface World {
  goal: string;
  input: Record<string, JsonValue>;
  toolResults: ToolResultRecord[];
  facts: RetrievalFact[];
}

interface LabelledCase {
  id: string;
  world: string;
  label: 'grounded' | 'ungrounded';
  hard?: boolean;
  why: string;
  tool: string;
  args: Record<string, JsonValue>;
  claims?: Claim[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/grounding.json', import.meta.url), 'utf8')) as {
  worlds: Record<string, World>;
  cases: LabelledCase[];
};

/**
 * Thresholds the literal check honestly reaches on this set. Its known blind spots are in the fixture as "hard"
 * cases: derived values (half of $120, a count of 3) and dates written in words raise false alarms; a literal
 * present in the evidence but bound to another entity ("C-2041 has 0 orders" when the 0 is C-2042's) and small
 * numbers that occur by chance pass unnoticed.
 */
const MIN_PRECISION = 0.85;
const MIN_RECALL = 0.85;

function stateOf(world: World): GuardState {
  return baseState({
    task: taskWith((t) => {
      t.goal = world.goal;
      t.input = world.input;
    }),
    toolResults: world.toolResults,
    facts: world.facts,
  });
}

describe('grounding precision and recall on a labelled fixture set', () => {
  const results = fixture.cases.map((c) => {
    const world = fixture.worlds[c.world];
    if (!world) throw new Error(`case ${c.id}: unknown world ${c.world}`);
    const ctx = buildCheckContext(stateOf(world), act(c.tool, c.args, { claims: c.claims ?? [] }), defaultPolicy);
    return { c, schema: checkSchema(ctx), grounding: checkGrounding(ctx) };
  });

  it('has at least 40 labelled proposals of both kinds, all schema-valid', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
    expect(fixture.cases.filter((c) => c.label === 'grounded').length).toBeGreaterThanOrEqual(15);
    expect(fixture.cases.filter((c) => c.label === 'ungrounded').length).toBeGreaterThanOrEqual(15);
    expect(new Set(fixture.cases.map((c) => c.id)).size).toBe(fixture.cases.length);
    for (const r of results) expect([r.c.id, r.schema.outcome, r.schema.detail]).toEqual([r.c.id, 'allow', undefined]);
  });

  it(`flags ungrounded proposals with precision >= ${MIN_PRECISION} and recall >= ${MIN_RECALL}`, () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    const wrong: string[] = [];
    for (const { c, grounding } of results) {
      const flagged = grounding.outcome === 'escalate';
      const positive = c.label === 'ungrounded';
      if (flagged && positive) tp += 1;
      else if (flagged) fp += 1;
      else if (positive) fn += 1;
      else tn += 1;
      if (flagged !== positive) {
        wrong.push(
          `  ${flagged ? 'FP' : 'FN'} ${c.id}${c.hard ? ' (hard)' : ''}: ${c.why}${grounding.detail ? ` -> ${grounding.detail}` : ''}`,
        );
      }
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    console.log(
      `grounding on ${results.length} labelled proposals: TP=${tp} FP=${fp} FN=${fn} TN=${tn}; ` +
        `precision=${precision.toFixed(3)} recall=${recall.toFixed(3)}\n${wrong.join('\n')}`,
    );
    expect(precision).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(recall).toBeGreaterThanOrEqual(MIN_RECALL);
  });

  it('every miss is one of the documented hard cases', () => {
    const misses = results.filter(
      ({ c, grounding }) => (grounding.outcome === 'escalate') !== (c.label === 'ungrounded'),
    );
    expect(misses.filter((m) => !m.c.hard).map((m) => m.c.id)).toEqual([]);
  });

  it('names the offending literal or claim', () => {
    const detailOf = (id: string) => results.find((r) => r.c.id === id)?.grounding.detail ?? '';
    expect(detailOf('crm-03')).toContain('args.ids[0]=C-2043');
    expect(detailOf('bill-02')).toContain('args.amountUsd=89.05');
    expect(detailOf('mail-05')).toContain('args.cc[0]=cfo@example.com');
    expect(detailOf('bill-10')).toContain('states 98.5 not found in its evidence');
    expect(detailOf('crm-16')).toContain('kb:gdpr is not a confirmed retrieval fact');
  });
});
