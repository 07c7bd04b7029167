import { randomUUID } from 'node:crypto';
import {
  canonicalHash,
  follow,
  newTask,
  generateSigningKeyPair,
  signDecision,
  type DecisionTrust,
  type ChainLink,
  type EventDraft,
  type JsonObject,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask, signedVerdict, testVerdictTrust } from '@warden/contracts/testing';
import { defineRunnableTool, defineTool, type RunnableTool } from '@warden/tools';
import { readStateChangelog, testKafka, type EventCollector, type TestEndpoints } from '@warden/runtime/testing';
import { z } from 'zod';
import type { BreakerSettings, ExecutorSettings } from '../src/index.js';

const HASH = 'a'.repeat(64);

/** A fake cause (a task's proposal) to chain approvals onto. */
export function causeOf(taskId: string): ChainLink {
  return {
    envelope: {
      id: randomUUID(),
      taskId,
      tenantId: 'tenant-a',
      seq: 1,
      correlationId: taskId,
      policyVersion: 'default.v1',
    },
    hash: HASH,
  };
}

/** Every tool the executor's tests approve: the demo tools and the test tools. */
export const testToolNames = [
  'customers.delete',
  'customers.query',
  'customers.update',
  'email.send',
  'files.delete',
  'files.read',
  'files.write',
  'http.get',
  'knowledge.search',
  'payments.refund',
  'test.hang',
  'test.invalid',
  'test.broken',
  'test.echo',
  'test.flaky',
  'test.slow',
];

/** Resource patterns that admit everything (tests of the executor's own checks narrow them). */
export const openResources = { collections: ['*'], paths: ['**'], hosts: ['*'], recipients: ['*'] };

/** The TaskSubmitted of a test task (tenant-a, as causeOf), by default with every test tool and any resource in scope. */
export function taskSubmitted(
  taskId: string,
  scope: { tools: string[]; resources: Partial<typeof openResources> } = {
    tools: testToolNames,
    resources: openResources,
  },
): EventDraft<'TaskSubmitted'> {
  return newTask(sampleTask({ scope }), { taskId, tenantId: 'tenant-a', producer: 'test' });
}

/** The TaskSubmitted of each task the drafts belong to (in order of first appearance), then the drafts. */
export function withTasks(...drafts: EventDraft[]): EventDraft[] {
  const ids = [...new Set(drafts.map((d) => d.taskId))];
  return [...ids.map((id) => taskSubmitted(id)), ...drafts];
}

/**
 * An ActionApproved draft for a tool call (argsHash from the args unless given), signed with the test guard key
 * (testGuardKeys) unless `sign` is false.
 */
export function actionApproved(
  taskId: string,
  actionId: string,
  tool: string,
  args: JsonObject,
  argsHash = canonicalHash(args),
  sign = true,
): EventDraft<'ActionApproved'> {
  const draft = follow(
    causeOf(taskId),
    'ActionApproved',
    {
      proposalEventId: randomUUID(),
      proposalKind: 'action',
      actionId,
      rulesEvaluated: [],
      ruleFired: null,
      reasonCode: 'allowed',
      policyVersion: 'default.v1',
      inputHashes: { proposal: HASH, state: HASH, policy: HASH },
      tool,
      args,
      argsHash,
    },
    { producer: 'test' },
  );
  return sign ? signedVerdict(draft) : draft;
}

/** The test's decision-signing key pair (the escalation service's role) and the trust a worker puts in it. */
export const testDecisionKeys = generateSigningKeyPair('test-escalation');
/** Trust in testDecisionKeys' public key only. */
export const testDecisionTrust: DecisionTrust = {
  keys: new Map([[testDecisionKeys.verifyingKey.keyId, testDecisionKeys.verifyingKey]]),
  insecureAcceptUnsigned: false,
};

/** An EscalationRequested draft by the guard for a tool call (escalationId `<task>:<action>:guard`). */
export function escalationRequested(
  taskId: string,
  actionId: string,
  tool: string,
  args: JsonObject,
  expiresAt: Date,
): EventDraft<'EscalationRequested'> {
  return follow(
    causeOf(taskId),
    'EscalationRequested',
    {
      escalationId: `${taskId}:${actionId}:guard`,
      source: 'guard',
      reasonCode: 'low_confidence',
      reason: 'a person must decide',
      action: { actionId, tool, args, argsHash: canonicalHash(args) },
      policyVersion: 'default.v1',
      expiresAt: expiresAt.toISOString(),
    },
    { producer: 'test' },
  );
}

/** A HumanApproved draft for a tool call, signed with testDecisionKeys unless `sign` is false. */
export function humanApproved(
  taskId: string,
  actionId: string,
  tool: string,
  args: JsonObject,
  expiresAt: Date,
  argsHash = canonicalHash(args),
  sign = true,
): EventDraft<'HumanApproved'> {
  const draft = follow(
    causeOf(taskId),
    'HumanApproved',
    {
      escalationId: `${taskId}:${actionId}:guard`,
      actionId,
      decidedBy: { id: 'ops-1', kind: 'user', role: 'approver' },
      argsHash,
      policyVersion: 'default.v1',
      expiresAt: expiresAt.toISOString(),
      tool,
      args,
    },
    { producer: 'test' },
  );
  if (!sign) return draft;
  const signature = signDecision('HumanApproved', taskId, draft.tenantId, draft.data, testDecisionKeys.signingKey);
  return { ...draft, data: { ...draft.data, signature } };
}

/** Events caused by an event. */
export const causedBy = (events: WardenEvent[], id: string): WardenEvent[] =>
  events.filter((e) => e.causationId === id);

/** Events published in response to an event: caused by it, or by one of those (a handler's outputs form a chain). */
export function responsesTo(events: WardenEvent[], id: string): WardenEvent[] {
  const ids = new Set([id]);
  const out: WardenEvent[] = [];
  for (let grew = true; grew;) {
    grew = false;
    for (const e of events) {
      if (e.causationId !== null && ids.has(e.causationId) && !ids.has(e.id)) {
        ids.add(e.id);
        out.push(e);
        grew = true;
      }
    }
  }
  return out;
}

/** The ToolSucceeded or ToolFailed published in response to an approval, waiting for it. */
export async function resultOf(out: EventCollector, approvalId: string, timeoutMs = 60_000): Promise<WardenEvent> {
  const events = await out.waitFor(
    (es) => responsesTo(es, approvalId).some((e) => e.type === 'ToolSucceeded' || e.type === 'ToolFailed'),
    timeoutMs,
    `the result of approval ${approvalId}`,
  );
  // In response to the approval, not always caused by it directly: a breaker's transition comes first (execute.ts).
  return responsesTo(events, approvalId).find((e) => e.type === 'ToolSucceeded' || e.type === 'ToolFailed')!;
}

/** Breaker thresholds for tests. */
export const testBreakers: BreakerSettings = {
  errorThresholdPercent: 50,
  rollingWindowMs: 120_000,
  rollingBuckets: 10,
  volumeThreshold: 5,
  consecutiveFailures: 3,
  resetTimeoutMs: 120_000,
};

/** Executor settings for tests. */
export function testSettings(overrides: Partial<ExecutorSettings> = {}): ExecutorSettings {
  return {
    replicaId: 'test',
    defaultTimeoutMs: 10_000,
    leaseGraceMs: 500,
    maxDispatches: 3,
    escalationTtlMs: 3_600_000,
    breakers: testBreakers,
    verdictTrust: testVerdictTrust,
    ...overrides,
  };
}

/** A test tool: { n } in, { n } out, with the given run(). */
export function testTool(
  name: string,
  run: (args: { n: number }, ctx: { signal: AbortSignal }) => Promise<unknown>,
  timeoutMs?: number,
): RunnableTool {
  return defineRunnableTool({
    spec: defineTool({
      name,
      description: `test tool ${name}`,
      destructive: false,
      argsSchema: z.object({ n: z.number().int() }).strict(),
      outputSchema: z.object({ n: z.number().int() }),
      riskTier: 'low',
      resources: {},
      criticalFields: [],
    }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    run: run as (args: { n: number }, ctx: { signal: AbortSignal }) => Promise<{ n: number }>,
  });
}

/**
 * The executor's task states as its changelog holds them (what it committed, ADR 0028), for the tasks asked about:
 * a test waits on them where one event must be handled before another that travels on another topic.
 */
export async function executorStates(
  endpoints: TestEndpoints,
  prefix: string,
  taskIds: readonly string[],
): Promise<Map<string, { submittedEventId?: string; ended: boolean }>> {
  const all = await readStateChangelog(testKafka(endpoints), `${prefix}.executor-state.v1`);
  const found = new Map<string, { submittedEventId?: string; ended: boolean }>();
  for (const id of taskIds) {
    const value = all.get(id) as { submittedEventId?: string; ended: boolean } | undefined;
    if (value !== undefined) found.set(id, value);
  }
  return found;
}
