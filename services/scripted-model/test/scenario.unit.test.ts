import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CLAIMS_PER_PROPOSAL } from '@warden/contracts';
import {
  BUNDLED_SCENARIOS_DIR,
  loadScenarioFile,
  loadScenarios,
  parseScenario,
  ScenarioError,
  type ScenarioInput,
} from '@warden/scripted-model';

const good: ScenarioInput = {
  id: 'good',
  description: 'ok',
  steps: [{ kind: 'answer', content: 'hi', confidence: 0.9, reasoning: 'r' }],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scripted-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<ScenarioError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScenarioError);
  return error as ScenarioError;
}

describe('scenario loader', () => {
  it('loads every bundled scenario the brief asks for', async () => {
    const ids = (await loadScenarios(BUNDLED_SCENARIOS_DIR)).map((s) => s.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'refund-happy',
        'retry-loop',
        'rate-limit-storm',
        'huge-output',
        'low-confidence-delete',
        'scope-creep',
        'hallucinated-id',
        'malformed-args',
        'empty-answer',
      ]),
    );
  });

  it('names the file and the JSON problem for a file that is not JSON', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ "id": "broken", ');
    const error = await errorOf(loadScenarioFile(path));
    expect(error.message).toContain(`${path}: not valid JSON`);
    expect(error.code).toBe('WARDEN_SCRIPTED_MODEL_SCENARIO');
    expect(error.retryable).toBe(false);
  });

  it('lists every schema problem with its path', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(
      path,
      JSON.stringify({
        id: 'bad',
        description: 'bad',
        steps: [
          { kind: 'tool_call', name: '', arguments: {}, confidence: 1.5, reasoning: 'r' },
          { kind: 'answer', content: 'x', confidence: 0.5, reasoning: 'r', failures: [{ status: 418, times: 1 }] },
          { kind: 'dance', confidence: 0.5, reasoning: 'r' },
        ],
      }),
    );
    const error = await errorOf(loadScenarioFile(path));
    expect(error.message).toContain(`${path}: invalid scenario`);
    expect(error.message).toMatch(/steps\[0\]\.name: .*>=1 character/);
    expect(error.message).toMatch(/steps\[0\]\.confidence: .*<=1/);
    expect(error.message).toContain('steps[1].failures[0].status: expected one of 429, 500, 503');
    expect(error.message).toContain(
      "steps[2].kind: Invalid discriminator value. Expected 'tool_calls' | 'tool_call' | 'answer'",
    );
  });

  it('rejects unknown fields, so a typo does not silently change a script', () => {
    expect(() => parseScenario({ ...good, stepz: [] })).toThrow(/Unrecognized key.*stepz/);
    expect(() =>
      parseScenario({
        ...good,
        steps: [{ kind: 'answer', content: 'x', confidence: 0.5, reasoning: 'r', confidnce: 1 }],
      }),
    ).toThrow(/steps\[0\].*confidnce/);
  });

  it('checks the alternatives of a step: only the last is unconditional; "when" only inside alternatives', () => {
    const answer = { kind: 'answer' as const, content: 'x', confidence: 0.5, reasoning: 'r' };
    const when = { lastToolResultContains: 'error' };
    expect(() => parseScenario({ ...good, steps: [[answer, { ...answer, when }]] })).toThrow(
      /steps\[0\]\[0\]\.when: every alternative but the last needs a "when"[\s\S]*steps\[0\]\[1\]\.when: the last alternative/,
    );
    expect(() => parseScenario({ ...good, steps: [{ ...answer, when }] })).toThrow(
      /steps\[0\]\.when: "when" is only allowed/,
    );
    expect(parseScenario({ ...good, steps: [[{ ...answer, when }, answer]] }).turns[0]?.alternatives).toHaveLength(2);
  });

  it('rejects duplicate explicit tool call ids in one turn', () => {
    const call = { id: 'call_a', name: 'files.read', arguments: { path: '/a' } };
    expect(() =>
      parseScenario({ ...good, steps: [{ kind: 'tool_calls', calls: [call, call], confidence: 0.5, reasoning: 'r' }] }),
    ).toThrow(/steps\[0\]\.calls\[1\]\.id: duplicate tool call id call_a/);
  });

  it('takes only claims the planner can read: strict keys, a non-empty quote, within the contracts limits', () => {
    const evidence = { kind: 'tool_result', ref: 'call_a', quote: 'c-1' } as const;
    const claim = { text: 'c-1 exists', evidence: [evidence] };
    const withClaims = (claims: unknown): ScenarioInput => ({
      ...good,
      steps: [{ kind: 'answer', content: 'hi', confidence: 0.9, reasoning: 'r', claims }],
    });
    expect(parseScenario(withClaims([claim])).turns).toHaveLength(1);
    expect(() => parseScenario(withClaims([{ ...claim, evidence: [{ ...evidence, quote: '' }] }]))).toThrow(
      /steps\[0\]\.claims\[0\]\.evidence\[0\]\.quote/,
    );
    expect(() => parseScenario(withClaims([{ ...claim, weight: 1 }]))).toThrow(/steps\[0\]\.claims\[0\]/);
    expect(() => parseScenario(withClaims(Array(MAX_CLAIMS_PER_PROPOSAL + 1).fill(claim)))).toThrow(
      /steps\[0\]\.claims/,
    );
  });

  it('reports every bad file of a folder at once, including an id that differs from the file name', async () => {
    await writeFile(join(dir, 'good.json'), JSON.stringify(good));
    await writeFile(join(dir, 'renamed.json'), JSON.stringify({ ...good, id: 'other' }));
    await writeFile(join(dir, 'empty.json'), '');
    const error = await errorOf(loadScenarios(dir));
    expect(error.message).toContain('2 bad scenario file(s)');
    expect(error.message).toContain('id "other" must equal the file name "renamed"');
    expect(error.message).toContain('empty.json: not valid JSON');
  });

  it('says so when the folder is missing or holds no scenario', async () => {
    expect((await errorOf(loadScenarios(join(dir, 'missing')))).message).toContain('cannot read the scenarios folder');
    expect((await errorOf(loadScenarios(dir))).message).toContain('no scenario files');
  });

  it('normalises a single tool_call into a tool_calls turn and applies defaults', () => {
    const scenario = parseScenario({
      id: 'norm',
      description: 'd',
      steps: [{ kind: 'tool_call', name: 'files.read', arguments: '{"path":', confidence: 0.4, reasoning: 'r' }],
    });
    expect(scenario.onExhausted).toBe('repeat_last');
    expect(scenario.turns[0]?.alternatives[0]).toMatchObject({
      kind: 'tool_calls',
      envelope: 'json',
      calls: [{ name: 'files.read', arguments: '{"path":' }],
    });
    expect(scenario.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
