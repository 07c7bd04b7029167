import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  RiskTiers,
  ToolCallError,
  ToolDefinitionError,
  ToolRefusedError,
  bindTool,
  createToolDefinitionRegistry,
  customersDelete,
  defineDemoTool,
  demoTools,
  estimateToolImpact,
  offlineImpactDeps,
  type DemoImpactDeps,
  type DemoToolDeps,
} from '@warden/tools';

const signal = new AbortController().signal;
const estimate = (tool: string, args: unknown, deps: DemoImpactDeps = offlineImpactDeps) =>
  estimateToolImpact(demoTools, tool, args, deps, { signal });

/** A customer store whose every collection counts `rows`, recording each count asked of it. */
function countingStore(rows: number, asked: { collection: string; filter: unknown }[] = []): DemoImpactDeps {
  return {
    customers: {
      read: (collection: string) => ({
        countDocuments: (filter: unknown) => {
          asked.push({ collection, filter });
          return Promise.resolve(rows);
        },
        find: () => {
          throw new Error('a dry run of customers.delete only counts');
        },
      }),
    },
  };
}

describe('the demo tools', () => {
  it('each have a risk tier, the one the guard has always applied to them', () => {
    const tiers = Object.fromEntries([...demoTools.values()].map((t) => [t.name, t.riskTier]));
    expect(tiers).toEqual({
      'customers.query': 'low',
      'customers.update': 'high',
      'customers.delete': 'critical',
      'email.send': 'high',
      'files.read': 'low',
      'files.write': 'medium',
      'files.delete': 'critical',
      'knowledge.search': 'low',
      'http.get': 'medium',
      'payments.refund': 'critical',
      'customers.restore': 'high',
      'customers.revert': 'high',
      'files.restore': 'medium',
    });
  });

  it('size their destructive calls by their own dry runs', async () => {
    await expect(estimate('customers.update', { collection: 'c', id: 'c-1', set: { name: 'A' } })).resolves.toEqual({
      ...noImpact,
      rows: 1,
    });
    await expect(
      estimate('email.send', {
        to: ['a@example.com', 'A@example.com'],
        cc: ['b@example.com'],
        subject: 's',
        body: 'b',
      }),
    ).resolves.toEqual({ ...noImpact, recipients: 2 });
    await expect(estimate('files.write', { path: 'a', content: 'x' })).resolves.toEqual({ ...noImpact, files: 1 });
    await expect(estimate('files.delete', { paths: ['a', 'b', 'a'] })).resolves.toEqual({ ...noImpact, files: 2 });
    await expect(estimate('payments.refund', { orderId: 'o', amountUsd: 12.5, reason: 'r' })).resolves.toEqual({
      ...noImpact,
      moneyUsd: 12.5,
    });
  });

  it('count a delete in the store, by ids or by filter, reading only', async () => {
    const asked: { collection: string; filter: unknown }[] = [];
    const store = countingStore(25, asked);
    await expect(
      estimate('customers.delete', { collection: 'crm', filter: { status: 'inactive', id: 'x' } }, store),
    ).resolves.toEqual({ ...noImpact, rows: 25 });
    await expect(estimate('customers.delete', { collection: 'crm', ids: ['a', 'b'] }, store)).resolves.toMatchObject({
      rows: 25,
    });
    expect(asked).toEqual([
      { collection: 'crm', filter: { status: 'inactive', _id: 'x' } },
      { collection: 'crm', filter: { _id: { $in: ['a', 'b'] } } },
    ]);
  });
});

describe('estimateToolImpact', () => {
  it('has nothing to say of an unknown or non-destructive tool', async () => {
    await expect(estimate('db.drop', {})).resolves.toBeNull();
    await expect(estimate('customers.query', { collection: 'c', filter: {} })).resolves.toBeNull();
  });

  it('never hands args its tool refuses to a store', async () => {
    const asked: { collection: string; filter: unknown }[] = [];
    await expect(
      estimate('customers.delete', { collection: 'crm', filter: { $where: 'sleep(1000)' } }, countingStore(1, asked)),
    ).resolves.toBeNull();
    await expect(estimate('customers.delete', { collection: 'crm' }, countingStore(1, asked))).resolves.toBeNull();
    expect(asked).toEqual([]);
  });

  it('gives null when the stores refuse the call (offline, or a collection that is not a customer one)', async () => {
    await expect(estimate('customers.delete', { collection: 'crm', ids: ['a'] })).resolves.toBeNull();
  });

  it("rejects when a dry run's store fails otherwise (retryable, not an unknown impact)", async () => {
    const down: DemoImpactDeps = {
      customers: {
        read: () => {
          throw new ToolCallError('store down');
        },
      },
    };
    await expect(estimate('customers.delete', { collection: 'crm', ids: ['a'] }, down)).rejects.toBeInstanceOf(
      ToolCallError,
    );
    expect(new ToolRefusedError('x').retryable).toBe(false);
  });
});

describe('tool definitions', () => {
  const probe = {
    name: 'probe.touch',
    description: 'touch',
    destructive: true,
    riskTier: 'low' as const,
    argsSchema: z.object({ n: z.number() }).strict(),
    outputSchema: z.object({ n: z.number() }),
    resources: {},
    criticalFields: [],
    estimateImpact: () => Promise.resolve(noImpact),
    run: (args: { n: number }, deps: DemoToolDeps) => Promise.resolve({ n: args.n + deps.knowledgeCollection.length }),
  };

  it('refuse an unknown risk tier, a bad timeout and a duplicate name', () => {
    expect(() => defineDemoTool({ ...probe, riskTier: 'extreme' as never })).toThrow(/riskTier must be one of/);
    expect(() => defineDemoTool({ ...probe, timeoutMs: 0 })).toThrow(ToolDefinitionError);
    expect(() => createToolDefinitionRegistry([customersDelete, customersDelete])).toThrow(/defined twice/);
    expect(RiskTiers).toEqual(['low', 'medium', 'high', 'critical']);
  });

  it('run on the stores they are bound to, with no verify when they define none', async () => {
    const tool = bindTool(defineDemoTool(probe), { knowledgeCollection: 'four' } as DemoToolDeps);
    expect(tool.spec.name).toBe('probe.touch');
    expect('verify' in tool).toBe(false);
    const ctx = { idempotencyKey: 'k', signal, logger: { debug() {}, info() {}, warn() {}, error() {} } };
    await expect(tool.run({ n: 1 }, ctx)).resolves.toEqual({ n: 5 });
  });
});
