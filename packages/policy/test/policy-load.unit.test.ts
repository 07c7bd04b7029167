import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GuardErrorCodes, PolicyInvalidError, loadPolicy } from '../src/index.js';
import { ToolDefinitionError, createToolRegistry, customersQuery, defineTool } from '@warden/tools';
import { defaultPolicyDocument } from './helpers.js';

function loadError(change: (doc: Record<string, unknown>) => void): PolicyInvalidError {
  const doc = structuredClone(defaultPolicyDocument());
  change(doc);
  try {
    loadPolicy(doc);
  } catch (error) {
    if (error instanceof PolicyInvalidError) return error;
    throw error;
  }
  throw new Error('expected loadPolicy to refuse the document');
}

const rule = (overrides: Record<string, unknown>) => ({
  id: 'r1',
  description: 'test rule',
  mode: 'enforce',
  when: { kind: 'action' },
  effect: 'deny',
  code: 'test_rule',
  ...overrides,
});

describe('policy files', () => {
  it('every file under policies/ loads', () => {
    const dir = new URL('../policies/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const policy = loadPolicy(readFileSync(new URL(file, dir), 'utf8'));
      expect(file).toBe(`${policy.version}.json`);
      expect(policy.hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('refuses text that is not JSON, saying so', () => {
    expect(() => loadPolicy('{ "version": ')).toThrow(/policy is not valid JSON/);
  });

  it('is a terminal WARDEN_GUARD_POLICY_INVALID error with every issue and its path', () => {
    const error = loadError((d) => {
      delete d.version;
      d.rules = [rule({ mode: 'shadow' })];
    });
    expect(error.code).toBe(GuardErrorCodes.policyInvalid);
    expect(error.retryable).toBe(false);
    expect(error.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['version', 'rules[0].mode']));
    expect(error.message).toContain('policy does not match the policy schema');
    expect(error.message).toContain('  - version:');
  });

  const cases: [string, (d: Record<string, unknown>) => void, string, RegExp][] = [
    [
      'a tool the code does not define',
      (d) => {
        (d.tools as Record<string, unknown>)['db.drop'] = {};
      },
      'tools.db.drop',
      /unknown tool "db\.drop": the code defines customers\.query/,
    ],
    [
      'an invalid regular expression',
      (d) => {
        d.rules = [rule({ when: { argMatches: { url: '(' } } })];
      },
      'rules[0].when.argMatches.url',
      /invalid regular expression/,
    ],
    [
      'a regular expression that may backtrack catastrophically',
      (d) => {
        d.rules = [rule({ when: { answerMatches: '(a+)+$' } })];
      },
      'rules[0].when.answerMatches',
      /backtrack catastrophically/,
    ],
    [
      'a stateful regular-expression flag',
      (d) => {
        d.rules = [rule({ when: { answerMatches: { pattern: 'x', flags: 'g' } } })];
      },
      'rules[0].when.answerMatches.flags',
      /g and y make a regular expression stateful/,
    ],
    [
      'a misspelt condition key',
      (d) => {
        d.rules = [rule({ when: { argEqual: { collection: 'x' } } })];
      },
      'rules[0].when',
      /Unrecognized key.*argEqual/,
    ],
    [
      'an empty condition',
      (d) => {
        d.rules = [rule({ when: {} })];
      },
      'rules[0].when',
      /a condition must name at least one test/,
    ],
    [
      'a nested empty condition',
      (d) => {
        d.rules = [rule({ when: { any: [{ kind: 'action' }, {}] } })];
      },
      'rules[0].when.any[1]',
      /at least one test/,
    ],
    [
      'a malformed arg path',
      (d) => {
        d.rules = [rule({ when: { argExists: ['to..x'] } })];
      },
      'rules[0].when.argExists[0]',
      /not an arg path/,
    ],
    [
      'a duplicate rule id',
      (d) => {
        d.rules = [rule({}), rule({})];
      },
      'rules[1].id',
      /duplicate rule id "r1"/,
    ],
    [
      'a rule named like a built-in check',
      (d) => {
        d.rules = [rule({ id: 'scope' })];
      },
      'rules[0].id',
      /built-in check/,
    ],
    [
      'a rule with the code "allowed"',
      (d) => {
        d.rules = [rule({ code: 'allowed' })];
      },
      'rules[0].code',
      /cannot use the code "allowed"/,
    ],
    [
      'a rule naming no tool of the policy',
      (d) => {
        d.rules = [rule({ when: { tool: ['fils.*'] } })];
      },
      'rules[0].when.tool[0]',
      /"fils\.\*" names no tool of this policy/,
    ],
    [
      'a calibration map that decreases',
      (d) => {
        (d.confidence as { calibration: { points: number[][] } }).calibration.points = [
          [0, 0],
          [0.5, 0.6],
          [0.7, 0.5],
          [1, 1],
        ];
      },
      'confidence.calibration.points[2]',
      /must not decrease/,
    ],
    [
      'a calibration map that does not cover [0, 1]',
      (d) => {
        (d.confidence as { calibration: { points: number[][] } }).calibration.points = [
          [0.1, 0],
          [1, 1],
        ];
      },
      'confidence.calibration.points',
      /first point must have raw 0/,
    ],
    [
      'thresholds that fall with risk',
      (d) => {
        (d.confidence as { thresholds: Record<string, number> }).thresholds.critical = 0.5;
      },
      'confidence.thresholds.critical',
      /a riskier tier needs more confidence/,
    ],
    [
      'a threshold outside [0, 1]',
      (d) => {
        (d.confidence as { thresholds: Record<string, number> }).thresholds.low = 1.5;
      },
      'confidence.thresholds.low',
      /<=1/,
    ],
    [
      'softening the scope check',
      (d) => {
        d.checks = { scope: 'log_only' };
      },
      'checks',
      /Unrecognized key.*scope/,
    ],
    [
      'a wrong format version',
      (d) => {
        d.formatVersion = 2;
      },
      'formatVersion',
      /expected 1/,
    ],
  ];

  it.each(cases)('refuses %s, naming the path', (_name, change, path, message) => {
    const error = loadError(change);
    const issue = error.issues.find((i) => i.path === path);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it('refuses a tool definition with a malformed path, or defined twice', () => {
    expect(() => defineTool({ ...customersQuery, criticalFields: ['a..b'] })).toThrow(ToolDefinitionError);
    expect(() => defineTool({ ...customersQuery, resources: { tables: ['x'] } as never })).toThrow(
      /unknown resource kind "tables"/,
    );
    expect(() => createToolRegistry([customersQuery, customersQuery])).toThrow(/defined twice/);
    expect(() => defineTool({ ...customersQuery, argsSchema: z.object({}) })).not.toThrow();
  });
});
