import { noImpact } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createToolDefinitionRegistry,
  createToolRegistry,
  defineToolDefinition,
  demoTools,
  type ToolSpec,
} from '@warden/tools';
import {
  PolicyInvalidError,
  argsImpactEstimator,
  assessConfidence,
  buildCheckContext,
  loadPolicy,
  toolImpactEstimator,
} from '../src/index.js';
import { act, baseState, defaultPolicy, defaultPolicyDocument } from './helpers.js';

/** A destructive tool the guard has no special case for: its dry run counts what its store says. */
function stampTool(riskTier: 'low' | 'critical') {
  return defineToolDefinition({
    name: 'labels.stamp',
    description: 'Stamp labels',
    destructive: true,
    riskTier,
    argsSchema: z.object({ batch: z.string().min(1) }).strict(),
    outputSchema: z.object({ stamped: z.number() }),
    resources: {},
    criticalFields: [],
    estimateImpact: async (args: { batch: string }, deps: { labelsIn: (batch: string) => Promise<number> }) => ({
      ...noImpact,
      rows: await deps.labelsIn(args.batch),
    }),
    run: () => Promise.resolve({ stamped: 0 }),
  });
}

function policyWithStamp(riskTier: 'low' | 'critical') {
  const doc = defaultPolicyDocument();
  doc.tools = { ...(doc.tools as object), 'labels.stamp': {} };
  return loadPolicy(doc, { tools: createToolRegistry<ToolSpec>([...demoTools.values(), stampTool(riskTier)]) });
}

describe('the guard and the tool definitions', () => {
  it("sizes a destructive action by the tool's own dry run, whatever the tool", async () => {
    const asked: string[] = [];
    const estimate = toolImpactEstimator(createToolDefinitionRegistry([stampTool('low')]), {
      labelsIn: (batch: string) => {
        asked.push(batch);
        return Promise.resolve(40);
      },
    });
    await expect(estimate('labels.stamp', { batch: 'b-7' })).resolves.toEqual({ ...noImpact, rows: 40 });
    await expect(estimate('labels.stamp', { batch: '' })).resolves.toBeNull(); // refused by its schema: no dry run
    expect(asked).toEqual(['b-7']);
  });

  it('with no store, sizes the demo tools from their args and leaves a delete it cannot count unknown', async () => {
    await expect(argsImpactEstimator('files.delete', { paths: ['a', 'b'] })).resolves.toMatchObject({ files: 2 });
    await expect(argsImpactEstimator('customers.delete', { collection: 'c', ids: ['a'] })).resolves.toBeNull();
    await expect(argsImpactEstimator('customers.query', { collection: 'c', filter: {} })).resolves.toBeNull();
  });

  it("reads a tool's risk tier from its definition: it picks the threshold and is in the policy hash", () => {
    const low = policyWithStamp('low');
    const critical = policyWithStamp('critical');
    expect(low.tools.get('labels.stamp')?.riskTier).toBe('low');
    expect(critical.tools.get('labels.stamp')?.riskTier).toBe('critical');
    expect(low.hash).not.toBe(critical.hash);
    const proposal = act('labels.stamp', { batch: 'b-7' });
    const threshold = (policy: typeof low) =>
      assessConfidence(buildCheckContext(baseState(), proposal, policy)).threshold;
    expect(threshold(low)).toBe(0.3);
    expect(threshold(critical)).toBe(0.85);
    expect(defaultPolicy.tools.get('customers.delete')?.riskTier).toBe('critical');
  });

  it('refuses a policy file that sets a tool tier, naming where', () => {
    const doc = defaultPolicyDocument();
    (doc.tools as Record<string, unknown>)['customers.query'] = { riskTier: 'low' };
    expect(() => loadPolicy(doc)).toThrow(PolicyInvalidError);
    try {
      loadPolicy(doc);
    } catch (error) {
      expect((error as PolicyInvalidError).issues).toEqual([
        {
          path: 'tools.customers.query.riskTier',
          message: expect.stringContaining("a tool's riskTier is set in its definition") as unknown,
        },
      ]);
    }
  });
});
