import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildCorpus,
  calibrate,
  corpusHas,
  extractNumbers,
  loadPolicy,
  normaliseHost,
  normalisePath,
  normaliseRecipient,
  proposalFromEvent,
  resolvePointer,
  salientLiterals,
  validateToolOutput,
  valuesAt,
} from '../src/index.js';
import { createToolRegistry, defineTool } from '@warden/tools';
import { defaultPolicy, defaultPolicyDocument } from './helpers.js';

describe('resource normalisation', () => {
  it.each([
    ['/data/reports/a.csv', { ok: true, value: '/data/reports/a.csv' }],
    ['/data//reports/./a.csv/', { ok: true, value: '/data/reports/a.csv' }],
    ['data/a', { ok: true, value: 'data/a' }],
    ['/data/../etc', { ok: false, code: 'path_traversal' }],
    ['/data/%2E%2e/etc', { ok: false, code: 'path_traversal' }],
    ['/data/a%2fb', { ok: false, code: 'invalid_resource' }],
    ['/data/%zz', { ok: false, code: 'invalid_resource' }],
    ['/data/a\u0000b', { ok: false, code: 'invalid_resource' }],
    ['C:\\x', { ok: false, code: 'invalid_resource' }],
    ['./', { ok: false, code: 'invalid_resource' }],
  ])('path %j', (raw, expected) => {
    expect(normalisePath(raw)).toMatchObject(expected);
  });

  it.each([
    ['https://API.Example.com:8443/x', 'api.example.com'],
    ['example.com.', 'example.com'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['https://user@evil.com/', 'evil.com'],
  ])('host of %j is %j', (raw, host) => {
    expect(normaliseHost(raw)).toEqual({ ok: true, value: host });
  });

  it.each(['https://[::1]/', 'ex ample.com', 'a_b.com', 'file:///etc/passwd'])('host %j is refused', (raw) => {
    expect(normaliseHost(raw).ok).toBe(false);
  });

  it.each(['a,b@example.com', 'Eve <eve@evil.com>', 'a b@example.com', 'a@b@example.com', '@example.com', 'a@'])(
    'recipient %j is refused',
    (raw) => {
      expect(normaliseRecipient(raw).ok).toBe(false);
    },
  );
});

describe('literal search', () => {
  const corpus = buildCorpus([
    {
      note: 'Customer C-4711 owes $1,250.00 since 2024-01-15.',
      id: 4711,
      mail: 'Bob@Example.com',
      ver: 'v2',
      ip: '10.0.0.1',
    },
  ]);
  it.each([
    ['C-4711', true],
    ['c-4711', true],
    [4711, true],
    ['4711', true],
    [1250, true],
    ['bob@example.com', true],
    ['C-471', false],
    ['14711', false],
    [47, false],
    [2, false],
    [10, false],
    ['example.com', false],
    ['2024-01-15', true],
  ] as const)('%j found: %j', (literal, found) => {
    expect(corpusHas(corpus, literal)).toBe(found);
  });

  it('extracts numbers only where they stand alone', () => {
    expect(extractNumbers('INV-2024-0042 v2 10.0.0.1 -3 15% $1,250.00 17,23 4711. 42.5 a42')).toEqual([
      -3, 15, 1250, 17, 23, 4711, 42.5,
    ]);
  });

  it('finds the literals a claim commits to', () => {
    expect(
      salientLiterals(
        'Customer C-4711 (bob42@x.com) has 3 orders totalling $1,250.00 since 2024-01-15, name "Acme Corp".',
      ),
    ).toEqual(['bob42@x.com', 'Acme Corp', 3, 1250, 'C-4711', '2024-01-15']);
  });
});

describe('paths and pointers', () => {
  it('resolves arg paths over own properties only', () => {
    expect(valuesAt({ to: ['a', 'b'] }, ['to', '*']).map((l) => l.where)).toEqual(['to[0]', 'to[1]']);
    expect(valuesAt({ set: { email: 'x' } }, ['set', 'email'])).toEqual([{ where: 'set.email', value: 'x' }]);
    expect(valuesAt({}, ['constructor'])).toEqual([]);
    expect(valuesAt({ a: [{ b: 1 }, { b: 2 }] }, ['a', '*', 'b']).map((l) => l.value)).toEqual([1, 2]);
  });

  it('resolves JSON pointers (RFC 6901)', () => {
    const doc = { 'a/b': { 'c~d': [10, 20] } };
    expect(resolvePointer(doc, '/a~1b/c~0d/1')).toEqual({ found: true, value: 20 });
    expect(resolvePointer(doc, '')).toEqual({ found: true, value: doc });
    expect(resolvePointer(doc, '/a~1b/c~0d/2')).toEqual({ found: false });
    expect(resolvePointer(doc, '/__proto__')).toEqual({ found: false });
    expect(resolvePointer(doc, 'a')).toEqual({ found: false });
  });
});

describe('calibration', () => {
  const map = {
    version: 'v',
    points: [
      [0, 0],
      [0.5, 0.4],
      [1, 0.9],
    ] as const,
  };
  it.each([
    [0, 0],
    [0.25, 0.2],
    [0.5, 0.4],
    [0.75, 0.65],
    [1, 0.9],
    [1.5, 0.9],
    [-1, 0],
    [Number.NaN, 0],
  ])('raw %j → %j', (raw, calibrated) => {
    expect(calibrate(raw, map)).toBe(calibrated);
  });
});

describe('validateToolOutput', () => {
  it('accepts a valid result', () => {
    expect(validateToolOutput('customers.delete', { deleted: 2 }, defaultPolicy)).toEqual({ ok: true });
  });
  it('refuses an invalid result, naming the field', () => {
    expect(validateToolOutput('customers.query', { rows: 'all', total: -1 }, defaultPolicy)).toMatchObject({
      ok: false,
      code: 'invalid_output',
      detail: expect.stringContaining('result.rows'),
    });
  });
  it('refuses a result of a tool the policy does not define', () => {
    expect(validateToolOutput('db.dump', {}, defaultPolicy)).toMatchObject({ ok: false, code: 'unknown_tool' });
  });
  it('accepts anything from a tool without an output schema', () => {
    const bare = defineTool({
      name: 'noop',
      description: 'does nothing',
      destructive: false,
      riskTier: 'low',
      argsSchema: z.object({}).strict(),
      resources: {},
      criticalFields: [],
    });
    const doc = defaultPolicyDocument();
    doc.tools = { noop: {} };
    doc.rules = [];
    const policy = loadPolicy(doc, { tools: createToolRegistry([bare]) });
    expect(validateToolOutput('noop', { anything: [1, 2] }, policy)).toEqual({ ok: true });
  });
});

describe('proposalFromEvent', () => {
  const envelope = {
    id: '00000000-0000-4000-8000-000000000001',
    taskId: 't1',
    tenantId: 'ten',
    seq: 3,
    prevHashes: [],
    causationId: null,
    correlationId: 't1',
    occurredAt: '2025-01-01T00:00:00.000Z',
    producer: 'planner@1',
    policyVersion: 'default.v1',
  };
  const confidence = { value: 0.9, source: 'structured' as const };
  it('takes task and tenant from the envelope and leaves the reasoning out', () => {
    const proposal = proposalFromEvent({
      ...envelope,
      type: 'ActionProposed',
      data: {
        actionId: 'a1',
        step: 1,
        tool: 'files.read',
        args: { path: '/x' },
        argsHash: 'a'.repeat(64),
        reasoning: 'because',
        confidence,
        claims: [],
      },
    });
    expect(proposal).toEqual({
      kind: 'action',
      taskId: 't1',
      tenantId: 'ten',
      actionId: 'a1',
      tool: 'files.read',
      args: { path: '/x' },
      argsHash: 'a'.repeat(64),
      confidence,
      claims: [],
    });
    const answer = proposalFromEvent({
      ...envelope,
      type: 'AnswerProposed',
      data: { actionId: 'a2', step: 2, answer: 'done', reasoning: 'r', confidence, claims: [] },
    });
    expect(answer).toEqual({
      kind: 'answer',
      taskId: 't1',
      tenantId: 'ten',
      actionId: 'a2',
      answer: 'done',
      confidence,
      claims: [],
    });
  });
});
