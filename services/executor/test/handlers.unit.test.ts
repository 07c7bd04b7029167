import { eventSchemas, generateSigningKeyPair, type EventOf } from '@warden/contracts';
import { signedVerdict, testVerdictTrust } from '@warden/contracts/testing';
import { Topics } from '@warden/runtime';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { createRunnableToolRegistry } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { createHandlers, executorConsumes, type HeldTask } from '../src/index.js';
import { actionApproved, openResources, testTool } from './helpers.js';

/** Deps that throw when touched: a refused approval must reach neither the ledger nor a breaker. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  },
);

/** A task book holding one task (or none), in memory. */
const tasksHolding = (task: HeldTask | undefined) => ({
  get: (taskId: string) => Promise.resolve(task?.taskId === taskId ? task : undefined),
  peek: (taskId: string) => (task?.taskId === taskId ? task : undefined),
});

const running: HeldTask = {
  taskId: 'task-1',
  tenantId: 'tenant-a',
  scope: { tools: ['files.shred', 'customers.delete'], resources: openResources },
  ended: false,
};

function handlersWith(task: HeldTask | undefined) {
  return createHandlers({ ...untouchableDeps(), verdictTrust: testVerdictTrust, tasks: tasksHolding(task) as never });
}

const parsed = (draft: ReturnType<typeof actionApproved>): EventOf<'ActionApproved'> =>
  eventSchemas.ActionApproved.parse(draft) as EventOf<'ActionApproved'>;

describe("the executor's handlers, without Kafka", () => {
  it('refuses an approval of a tool it does not have: ToolFailed and an alert, the ledger untouched', async () => {
    const handlers = handlersWith(running);
    const event = parsed(actionApproved('task-1', 'a1', 'files.shred', { path: 'x' }));
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolFailed', 'AlertRaised']);
    expect(t.drafts[0]!.data).toMatchObject({
      actionId: 'a1',
      tool: 'files.shred',
      effectKey: 'task-1:a1',
      errorClass: 'refused',
      retryable: false,
    });
    expect(t.published[0]!.envelope).toMatchObject({ causationId: event.id, seq: event.seq + 1 });
    expect(t.published[1]!.envelope.prevHashes).toEqual([t.published[0]!.hash]);
    expect(t.logs).toContainEqual(expect.objectContaining({ msg: 'approval refused', taskId: 'task-1', level: 40 }));
  });

  it.each([
    ['unsigned', () => actionApproved('task-1', 'a1', 'customers.delete', { ids: ['c-1'] }, undefined, false)],
    [
      'signed with a key the executor does not trust',
      () =>
        signedVerdict(
          actionApproved('task-1', 'a1', 'customers.delete', { ids: ['c-1'] }, undefined, false),
          generateSigningKeyPair('mallory').signingKey,
        ),
    ],
    [
      'altered after signing',
      () => {
        const d = actionApproved('task-1', 'a1', 'customers.delete', { ids: ['c-1'] });
        return { ...d, data: { ...d.data, actionId: 'a2' } };
      },
    ],
  ])('refuses a verdict %s with a critical alert only, touching no state', async (_what, draft) => {
    const handlers = createHandlers({ ...untouchableDeps(), verdictTrust: testVerdictTrust });
    const event = parsed(draft());
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(t.drafts[0]!.data).toMatchObject({ severity: 'critical', subject: { reason: 'verdict_unauthenticated' } });
  });

  it('fails closed: without the guard keys a signed verdict is refused too', async () => {
    const handlers = createHandlers({
      ...untouchableDeps(),
      verdictTrust: { keys: new Map(), insecureAcceptUnsigned: false },
    });
    const event = parsed(actionApproved('task-1', 'a1', 'customers.delete', { ids: ['c-1'] }));
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(t.drafts[0]!.data).toMatchObject({ message: expect.stringMatching(/verdict_unauthenticated.*no_keys/) });
  });

  it('refuses a signed verdict of a task it never saw with an alert only, no ToolFailed', async () => {
    const handlers = handlersWith(undefined);
    const event = parsed(actionApproved('task-ghost', 'a1', 'customers.delete', { ids: ['c-1'] }));
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(t.drafts[0]!.data).toMatchObject({ subject: { reason: 'task_unknown' } });
  });

  it("dispatches nothing once the task's wall time has run out: the refusal is the effect's recorded outcome", async () => {
    let runs = 0;
    const finished: unknown[] = [];
    const handlers = createHandlers({
      ...untouchableDeps(),
      verdictTrust: testVerdictTrust,
      tasks: tasksHolding({ ...running, scope: { tools: ['test.count'], resources: openResources } }) as never,
      ...{
        tools: createRunnableToolRegistry([testTool('test.count', ({ n }) => Promise.resolve({ n: n + runs++ }))]),
        ledger: {
          recordIntent: () => Promise.resolve({ created: true }),
          dispatch: () => {
            throw new Error('dispatched after the deadline');
          },
          finish: (_key: string, outcome: unknown) => {
            finished.push(outcome);
            return Promise.resolve(outcome);
          },
        } as never,
        now: () => new Date('2030-01-01T00:10:00.001Z'),
      },
    });
    const draft = actionApproved('task-1', 'a1', 'test.count', { n: 1 }, undefined, false);
    // Signed with the deadline, as the guard signs what it approves.
    const event = parsed(signedVerdict({ ...draft, data: { ...draft.data, deadlineAt: '2030-01-01T00:10:00.000Z' } }));
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(runs).toBe(0);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolFailed']);
    expect(t.drafts[0]!.data).toMatchObject({ errorClass: 'refused', retryable: false, effectKey: 'task-1:a1' });
    expect(String((t.drafts[0]!.data as { message: string }).message)).toMatch(/^budget_exhausted: /);
    expect(finished).toHaveLength(1);
  });
});

/** Deps whose every stateful part throws when touched. */
function untouchableDeps() {
  return {
    tools: createRunnableToolRegistry([]),
    ledger: untouchable as never,
    breakers: untouchable as never,
    replicaId: 'r1',
    defaultTimeoutMs: 1_000,
    leaseGraceMs: 100,
    maxDispatches: 3,
    escalationTtlMs: 3_600_000,
    now: () => new Date('2030-01-01T00:00:00Z'),
    decisionTrust: { keys: new Map(), insecureAcceptUnsigned: false },
    escalations: untouchable as never,
    tasks: untouchable as never,
    taskWaitMs: 0,
  };
}

describe("the executor's subscription", () => {
  it('lists the tasks topic first, so that a fetch queues the TaskSubmitted batches before the approvals', () => {
    const topics = new Topics('t').forTypes(executorConsumes);
    expect(topics[0]).toBe('t.tasks.v1');
    expect(topics).toContain('t.verdicts.v1');
  });
});
