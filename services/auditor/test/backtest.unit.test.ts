import { readFileSync } from 'node:fs';
import {
  canonicalHash,
  follow,
  newTask,
  noImpact,
  validateEvent,
  type ChainLink,
  type EventDraft,
  type MagnitudeLimits,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { DEFAULT_POLICY_FILE, loadPolicy } from '@warden/policy';
import { describe, expect, it } from 'vitest';
import { backtestTask } from '../src/index.js';

const policyDoc = JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as {
  version: string;
  rules: Array<{ id: string; mode: string }>;
};
const current = loadPolicy(policyDoc);
/** The candidate: the shadow rule "destructive-without-claims" promoted from log_only to enforce. */
const candidate = loadPolicy({
  ...policyDoc,
  version: 'default.v2-candidate',
  rules: policyDoc.rules.map((r) => (r.id === 'destructive-without-claims' ? { ...r, mode: 'enforce' } : r)),
});

/**
 * A task of customers.update proposals, each approved by the guard `copies` times (1 normally; 2 when the verdict
 * was delivered twice, as at least once allows).
 */
function updates(
  taskId: string,
  actions: ReadonlyArray<{ readonly actionId: string; readonly copies: number }>,
  limits: Partial<MagnitudeLimits> = {},
): WardenEvent[] {
  const link = (d: EventDraft): ChainLink => ({ envelope: d, hash: canonicalHash(d) });
  let last: EventDraft = newTask(sampleTask({ limits: { ...sampleTask().limits, ...limits } }), {
    tenantId: 'tenant-a',
    taskId,
    producer: 'test',
    policyVersion: 'default.v1',
  });
  const drafts: EventDraft[] = [last];
  const args = { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
  const hash = canonicalHash({});
  for (const { actionId, copies } of actions) {
    const proposal = follow(
      link(last),
      'ActionProposed',
      {
        actionId,
        step: 1,
        tool: 'customers.update',
        args,
        argsHash: canonicalHash(args),
        reasoning: 'deactivate the customer the task names',
        confidence: { value: 0.97, source: 'structured' },
        claims: [],
      },
      { producer: 'planner' },
    );
    drafts.push((last = proposal));
    for (let copy = 0; copy < copies; copy++) {
      last = follow(
        link(last),
        'ActionApproved',
        {
          proposalEventId: proposal.id,
          proposalKind: 'action',
          actionId,
          rulesEvaluated: [],
          ruleFired: null,
          reasonCode: 'allowed',
          policyVersion: 'default.v1',
          inputHashes: { proposal: hash, state: hash, policy: hash },
          tool: 'customers.update',
          args,
          argsHash: canonicalHash(args),
          impact: { ...noImpact, rows: 1 },
        },
        { producer: 'guard' },
      );
      drafts.push(last);
    }
  }
  return drafts.map((d) => validateEvent(d));
}

const chain = (): WardenEvent[] => updates('bt-1', [{ actionId: 'a1', copies: 1 }]);

describe('backtest', () => {
  it('replays a recorded approval through the policy it was made under and finds no change', async () => {
    const report = await backtestTask(chain(), current);
    expect(report).toMatchObject({ proposals: 1, unjudged: 0, changed: [] });
    expect(report.matrix.allow.allow).toBe(1);
  });

  it('reports the approval a candidate policy would have escalated, with the rule that fired', async () => {
    const report = await backtestTask(chain(), candidate);
    expect(report.changed).toEqual([
      {
        taskId: 'bt-1',
        tenantId: 'tenant-a',
        actionId: 'a1',
        tool: 'customers.update',
        recorded: { outcome: 'allow', reasonCode: 'allowed', policyVersion: 'default.v1' },
        candidate: {
          outcome: 'escalate',
          reasonCode: 'destructive_without_claims',
          ruleFired: 'destructive-without-claims',
        },
      },
    ]);
    expect(report.matrix.allow.escalate).toBe(1);
  });

  it('counts a proposal without a recorded verdict as unjudged, not as a change', async () => {
    const report = await backtestTask(
      chain().filter((e) => e.type !== 'ActionApproved'),
      candidate,
    );
    expect(report).toMatchObject({ proposals: 1, unjudged: 1, changed: [] });
  });

  it("counts an approval delivered twice once, as the live guard's view does (1 + 1 rows fit a task limit of 2)", async () => {
    const report = await backtestTask(
      updates(
        'bt-2',
        [
          { actionId: 'a1', copies: 2 },
          { actionId: 'a2', copies: 1 },
        ],
        { maxRowsPerAction: 1, maxRowsPerTask: 2 },
      ),
      current,
    );
    expect(report).toMatchObject({ proposals: 2, unjudged: 0, changed: [] });
    expect(report.matrix.allow.allow).toBe(2);
  });
});
