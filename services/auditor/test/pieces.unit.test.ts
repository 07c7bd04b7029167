import { describe, expect, it } from 'vitest';
import {
  TaskSummaryFold,
  TenantKeys,
  keyFromHeaders,
  openApiDocument,
  topicSettingProblems,
  type SummaryInput,
} from '../src/index.js';

const ev = (i: number, over: Partial<SummaryInput> = {}): SummaryInput => ({
  eventId: `e${i}`,
  type: 'ModelResponded',
  seq: i,
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  facts: {
    kind: 'model_response',
    tokens: { prompt: 10, completion: 5, total: 15 },
    costNanoUsd: Math.round(0.1 * 1e9),
  },
  ...over,
});

describe('TaskSummaryFold', () => {
  const events: SummaryInput[] = [
    ev(0, { type: 'TaskSubmitted', facts: { kind: 'task', goal: 'g', requester: 'alice' } }),
    ev(1),
    ev(2, { type: 'ActionProposed', facts: { kind: 'proposal', tool: 'customers.query', actionId: 'a1' } }),
    ev(3, {
      type: 'ActionRejected',
      facts: { kind: 'verdict', verdict: 'rejected', rule: 'no-bulk-delete', tool: 'customers.delete' },
    }),
    ev(4),
    ev(5, { type: 'TaskCompleted', facts: { kind: 'outcome', final: { answer: 'done' } } }),
  ];

  it('gives the same summary whatever the order, and counts a redelivered event once', () => {
    const a = new TaskSummaryFold('t');
    for (const e of events) a.add(e);
    const b = new TaskSummaryFold('t');
    for (const e of [...events].reverse()) b.add(e);
    b.add(events[1]!);
    expect(b.summary()).toEqual(a.summary());
    expect(a.summary()).toMatchObject({
      status: 'completed',
      goal: 'g',
      eventCount: 6,
      tools: ['customers.delete', 'customers.query'],
      rules: ['no-bulk-delete'],
      tokens: { prompt: 20, completion: 10, total: 30 },
      costUsd: 0.2,
      final: { type: 'TaskCompleted', answer: 'done' },
    });
  });
});

describe('topicSettingProblems', () => {
  it('accepts audit settings and names every setting that would lose data', () => {
    const good = { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' };
    expect(topicSettingProblems(new Map([['w.tasks.v1', good]]))).toEqual([]);
    const problems = topicSettingProblems(
      new Map([
        ['w.tasks.v1', { ...good, 'cleanup.policy': 'compact,delete' }],
        ['w.results.v1', { ...good, 'retention.ms': '604800000' }],
      ]),
    );
    expect(problems).toEqual([
      { topic: 'w.tasks.v1', setting: 'cleanup.policy', actual: 'compact,delete', required: 'delete' },
      { topic: 'w.results.v1', setting: 'retention.ms', actual: '604800000', required: '-1' },
    ]);
  });
});

describe('TenantKeys', () => {
  const keys = new TenantKeys([
    { tenantId: 'tenant-a', key: 'key-a-0123456789abcdef' },
    { tenantId: 'tenant-b', key: 'key-b-0123456789abcdef' },
  ]);
  it('maps a key to its tenant and nothing else', () => {
    expect(keys.tenantOf('key-a-0123456789abcdef')).toBe('tenant-a');
    expect(keys.tenantOf('key-b-0123456789abcdef')).toBe('tenant-b');
    expect(keys.tenantOf('key-a-0123456789abcdeF')).toBeUndefined();
    expect(keys.tenantOf('key-a')).toBeUndefined();
    expect(keys.tenantOf('')).toBeUndefined();
    expect(keys.tenantOf(undefined)).toBeUndefined();
  });
  it('reads Bearer and x-api-key headers', () => {
    expect(keyFromHeaders({ authorization: 'Bearer abc' })).toBe('abc');
    expect(keyFromHeaders({ 'x-api-key': 'xyz' })).toBe('xyz');
    expect(keyFromHeaders({ authorization: 'Basic abc' })).toBeUndefined();
  });
});

describe('openApiDocument', () => {
  it('resolves every $ref it uses', () => {
    const refs = JSON.stringify(openApiDocument).match(/"\$ref":"#\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      const path = ref.slice('"$ref":"#/'.length, -1).split('/');
      let node: unknown = openApiDocument;
      for (const part of path) node = (node as Record<string, unknown>)[part];
      expect(node, ref).toBeDefined();
    }
  });
});
