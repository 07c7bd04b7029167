import {
  MemorySubjectKeyStore,
  eventSchemas,
  generateSigningKeyPair,
  holdsErased,
  openSealed,
  sealedTextPiece,
  type EventOf,
  type JsonObject,
  type JsonValue,
} from '@warden/contracts';
import { signedVerdict, testVerdictTrust } from '@warden/contracts/testing';
import { StateLayer, TaskConflictError, Topics } from '@warden/runtime';
import { createTestHandlerContext } from '@warden/runtime/testing';
import {
  createRunnableToolRegistry,
  defineRunnableTool,
  defineTool,
  sealRepeated,
  sealRepeatedTextWithin,
  ToolCallError,
} from '@warden/tools';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { createHandlers, createWake, executorConsumes, ExecutorTaskState, type HeldTask } from '../src/index.js';
import { actionApproved, openResources, taskSubmitted, testTool } from './helpers.js';

/** Deps that throw when touched: a refused approval must reach neither the ledger nor a breaker. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  },
);

/** The executor's state holding one task (or none), as the runtime would restore it. */
function stateHolding(task: HeldTask | undefined): StateLayer<ExecutorTaskState> {
  return new StateLayer<ExecutorTaskState>((key) =>
    task?.taskId === key
      ? {
          value: {
            tenantId: task.tenantId,
            ...(task.scope === undefined ? {} : { scope: task.scope }),
            submittedEventId: 'submitted-1',
            ended: task.ended,
            escalations: [],
            pending: [],
          },
        }
      : undefined,
  );
}

const running: HeldTask = {
  taskId: 'task-1',
  tenantId: 'tenant-a',
  scope: { tools: ['files.shred', 'customers.delete'], resources: openResources },
  ended: false,
};

const handlers = () => createHandlers({ ...untouchableDeps(), verdictTrust: testVerdictTrust });

const parsed = (draft: ReturnType<typeof actionApproved>): EventOf<'ActionApproved'> =>
  eventSchemas.ActionApproved.parse(draft) as EventOf<'ActionApproved'>;

describe("the executor's handlers, without Kafka", () => {
  it('refuses an approval of a tool it does not have: ToolFailed and an alert, the ledger untouched', async () => {
    const event = parsed(actionApproved('task-1', 'a1', 'files.shred', { path: 'x' }));
    const t = createTestHandlerContext({ event, state: stateHolding(running) });
    await handlers().ActionApproved(event, t.ctx);
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
    // Even with a wait for unknown tasks: a forged verdict never waits in a task's state.
    const event = parsed(draft());
    const t = createTestHandlerContext<EventOf<'ActionApproved'>, ExecutorTaskState>({ event });
    await createHandlers({ ...untouchableDeps(), verdictTrust: testVerdictTrust, taskWaitMs: 3_000 }).ActionApproved(
      event,
      t.ctx,
    );
    expect(t.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(t.drafts[0]!.data).toMatchObject({ severity: 'critical', subject: { reason: 'verdict_unauthenticated' } });
    expect(t.state.changes.size).toBe(0);
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
    const event = parsed(actionApproved('task-ghost', 'a1', 'customers.delete', { ids: ['c-1'] }));
    const t = createTestHandlerContext<EventOf<'ActionApproved'>, ExecutorTaskState>({ event });
    await handlers().ActionApproved(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(t.drafts[0]!.data).toMatchObject({ subject: { reason: 'task_unknown' } });
  });

  it("dispatches nothing once the task's wall time has run out: the refusal is the effect's recorded outcome", async () => {
    let runs = 0;
    const finished: unknown[] = [];
    const handlers = createHandlers({
      ...untouchableDeps(),
      verdictTrust: testVerdictTrust,
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
    const state = stateHolding({ ...running, scope: { tools: ['test.count'], resources: openResources } });
    const t = createTestHandlerContext({ event, state });
    await handlers.ActionApproved(event, t.ctx);
    expect(runs).toBe(0);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolFailed']);
    expect(t.drafts[0]!.data).toMatchObject({ errorClass: 'refused', retryable: false, effectKey: 'task-1:a1' });
    expect(String((t.drafts[0]!.data as { message: string }).message)).toMatch(/^budget_exhausted: /);
    expect(finished).toHaveLength(1);
  });
});

/** Deps that run test.count for real: an in-memory ledger, a breaker that lets every call through. */
function runningDeps(runs: { n: number }) {
  const outcomes = new Map<string, unknown>();
  return {
    ...untouchableDeps(),
    verdictTrust: testVerdictTrust,
    taskWaitMs: 3_000,
    now: () => new Date(),
    tools: createRunnableToolRegistry([testTool('test.count', ({ n }) => Promise.resolve({ n: n + runs.n++ }))]),
    ledger: {
      recordIntent: (key: string) =>
        Promise.resolve(
          outcomes.has(key)
            ? { created: false, state: { dispatches: [], outcome: outcomes.get(key) } }
            : { created: true },
        ),
      dispatch: () => Promise.resolve(true),
      finish: (key: string, outcome: unknown) => {
        outcomes.set(key, outcome);
        return Promise.resolve(outcome);
      },
    } as never,
    breakers: {
      allows: () => true,
      fire: async (_name: string, call: () => Promise<unknown>) => ({ ok: true, value: await call() }),
    } as never,
  };
}

const countScope = { tools: ['test.count'], resources: openResources };

/** A test task's TaskSubmitted, parsed as the worker would get it. */
const submittedOf = (taskId: string): EventOf<'TaskSubmitted'> =>
  eventSchemas.TaskSubmitted.parse(taskSubmitted(taskId, countScope)) as EventOf<'TaskSubmitted'>;

/** An end of the task (the handlers read its task, tenant and seq only), after its TaskSubmitted. */
function endOf<T extends 'TaskCompleted' | 'TaskFailed' | 'TaskHalted'>(
  submitted: EventOf<'TaskSubmitted'>,
  type: T,
  taskId = submitted.taskId,
): EventOf<T> {
  return { ...submitted, taskId, id: crypto.randomUUID(), type, seq: 5 } as unknown as EventOf<T>;
}

describe("the executor's join of an approval with its task (ADR 0028)", () => {
  it('keeps an approval that comes before its TaskSubmitted in the task state, and runs it when the task comes', async () => {
    const runs = { n: 0 };
    const h = createHandlers(runningDeps(runs));
    const state = new StateLayer<ExecutorTaskState>(() => undefined);
    const approval = parsed(actionApproved('task-late', 'a1', 'test.count', { n: 1 }));
    const a = createTestHandlerContext({ event: approval, state });
    await h.ActionApproved(approval, a.ctx);
    expect(a.drafts).toEqual([]); // nothing yet, and no handler waited
    expect(runs.n).toBe(0);
    const waiting = state.entry('task-late');
    expect(waiting?.value.pending.map((p) => p.event.id)).toEqual([approval.id]);
    expect(waiting?.wakeAtMs).toBeGreaterThan(Date.now());
    // The same approval again (a redelivery) does not wait twice.
    await h.ActionApproved(approval, createTestHandlerContext({ event: approval, state }).ctx);
    expect(state.entry('task-late')?.value.pending).toHaveLength(1);

    const submitted = eventSchemas.TaskSubmitted.parse(
      taskSubmitted('task-late', countScope),
    ) as EventOf<'TaskSubmitted'>;
    const t = createTestHandlerContext({ event: submitted, state });
    await h.TaskSubmitted(submitted, t.ctx);
    expect(runs.n).toBe(1);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolSucceeded']);
    expect(t.drafts[0]!.data).toMatchObject({ actionId: 'a1', effectKey: 'task-late:a1', result: { n: 1 } });
    // Chained to the approval it answers, not to the TaskSubmitted that released it.
    expect(t.published[0]!.envelope).toMatchObject({ causationId: approval.id, seq: approval.seq + 1 });
    const after = state.entry('task-late');
    expect(after?.value.pending).toEqual([]);
    expect(after?.wakeAtMs).toBeUndefined();
    expect(after?.value).toMatchObject({ tenantId: 'tenant-a', submittedEventId: submitted.id, ended: false });
  });

  it('refuses a waiting approval as task_unknown at its deadline (the wake-up), with an alert chained to it', async () => {
    const runs = { n: 0 };
    const deps = runningDeps(runs);
    const state = new StateLayer<ExecutorTaskState>(() => undefined);
    const approval = parsed(actionApproved('task-never', 'a1', 'test.count', { n: 1 }));
    await createHandlers(deps).ActionApproved(approval, createTestHandlerContext({ event: approval, state }).ctx);
    const deadline = state.entry('task-never')!.wakeAtMs!;
    const w = createTestHandlerContext({ event: approval, state });
    await createWake(deps)('task-never', w.ctx);
    expect(w.drafts).toEqual([]); // not due yet: the wake-up of another task's deadline changes nothing here
    const clock = vi.spyOn(Date, 'now').mockReturnValue(deadline + 1);
    try {
      await createWake(deps)('task-never', w.ctx);
    } finally {
      clock.mockRestore();
    }
    expect(runs.n).toBe(0);
    expect(w.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(w.drafts[0]!.data).toMatchObject({ severity: 'critical', subject: { reason: 'task_unknown' } });
    expect(state.entry('task-never')?.value.pending).toEqual([]);
  });

  it("refuses what waited when the task ends first, and a second definition of a task's id", async () => {
    const runs = { n: 0 };
    const h = createHandlers(runningDeps(runs));
    const state = new StateLayer<ExecutorTaskState>(() => undefined);
    const approval = parsed(actionApproved('task-x', 'a1', 'test.count', { n: 1 }));
    await h.ActionApproved(approval, createTestHandlerContext({ event: approval, state }).ctx);
    const submitted = submittedOf('task-x');
    const failed = endOf(submitted, 'TaskFailed');
    const f = createTestHandlerContext({ event: failed, state });
    await h.TaskFailed(failed, f.ctx);
    expect(runs.n).toBe(0);
    expect(f.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
    expect(f.drafts[0]!.data).toMatchObject({ subject: { reason: 'task_ended' } });
    expect(state.entry('task-x')?.value).toMatchObject({ ended: true, pending: [] });

    await h.TaskSubmitted(submitted, createTestHandlerContext({ event: submitted, state }).ctx);
    const again = submittedOf('task-x');
    await expect(h.TaskSubmitted(again, createTestHandlerContext({ event: again, state }).ctx)).rejects.toThrow(
      TaskConflictError,
    );
    // The same TaskSubmitted again (a redelivery) changes nothing.
    await h.TaskSubmitted(submitted, createTestHandlerContext({ event: submitted, state }).ctx);
    // Ended before it was defined: it stays ended, and a late approval is refused at once.
    const late = parsed(actionApproved('task-x', 'a2', 'test.count', { n: 2 }));
    const l = createTestHandlerContext({ event: late, state });
    await h.ActionApproved(late, l.ctx);
    expect(l.drafts[0]!.data).toMatchObject({ subject: { reason: 'task_ended' } });
    expect(runs.n).toBe(0);
  });

  it('republishes an outcome_unknown with its alert and escalation when the approval is redelivered', async () => {
    // The first handling recorded the outcome in the ledger, then its transaction aborted (a fenced producer): the
    // redelivery must publish everything the first handling would have, not the outcome alone.
    const approval = parsed(actionApproved('task-1', 'a1', 'test.count', { n: 1 }));
    const outcome = {
      status: 'failed',
      errorClass: 'outcome_unknown',
      message: 'effect task-1:a1 of test.count was dispatched but its outcome is unknown: cannot verify',
      retryable: false,
      durationMs: 0,
      approvalEventId: approval.id,
    };
    const h = createHandlers({
      ...runningDeps({ n: 0 }),
      ledger: {
        recordIntent: () =>
          Promise.resolve({
            created: false,
            state: { intent: { argsHash: approval.data.argsHash }, dispatches: [], outcome },
          }),
      } as never,
    });
    const t = createTestHandlerContext({
      event: approval,
      state: stateHolding({ ...running, scope: countScope }),
    });
    await h.ActionApproved(approval, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolFailed', 'AlertRaised', 'EscalationRequested']);
    expect(t.drafts[1]!.data).toMatchObject({ code: 'outcome_unknown', alertId: 'task-1:a1:outcome_unknown' });
    expect(t.drafts[2]!.data).toMatchObject({ escalationId: 'task-1:a1:executor:outcome_unknown', action: null });
  });

  it("answers another approval of an effect already done from the task's state, never reading the ledger", async () => {
    const runs = { n: 0 };
    const first = parsed(actionApproved('task-1', 'a1', 'test.count', { n: 1 }));
    const t1 = createTestHandlerContext({ event: first, state: stateHolding({ ...running, scope: countScope }) });
    await createHandlers(runningDeps(runs)).ActionApproved(first, t1.ctx);
    expect(t1.drafts.map((d) => d.type)).toEqual(['ToolSucceeded']);
    expect(t1.state.entry('task-1')?.value.effects).toEqual([
      { actionId: 'a1', argsHash: first.data.argsHash, approvalEventId: first.id },
    ]);
    // The state as its transaction committed it; the ledger and the breakers must not be touched any more.
    const committed = () => new StateLayer<ExecutorTaskState>((key) => t1.state.entry(key));
    const h = createHandlers({ ...runningDeps(runs), ledger: untouchable as never, breakers: untouchable as never });
    const again = parsed(actionApproved('task-1', 'a1', 'test.count', { n: 1 }));
    const t2 = createTestHandlerContext({ event: again, state: committed() });
    await h.ActionApproved(again, t2.ctx);
    expect(t2.drafts).toEqual([]);
    expect(t2.logs).toContainEqual(
      expect.objectContaining({ msg: 'another approval of an effect already done: not run again' }),
    );
    const t3 = createTestHandlerContext({ event: first, state: committed() });
    await h.ActionApproved(first, t3.ctx); // the same approval again: its outcome went out with the state
    expect(t3.drafts).toEqual([]);
    const other = parsed(actionApproved('task-1', 'a1', 'test.count', { n: 2 }));
    const t4 = createTestHandlerContext({ event: other, state: committed() });
    await h.ActionApproved(other, t4.ctx);
    expect(t4.drafts.map((d) => d.type)).toEqual(['ToolFailed', 'AlertRaised']);
    expect(String((t4.drafts[0]!.data as { message: string }).message)).toMatch(/^ledger_args_mismatch: /);
    expect(runs.n).toBe(1);
  });

  it("deletes a completed task's record once its retention has passed (the wake-up), keeping a halted one", async () => {
    const deps = { ...runningDeps({ n: 0 }), endedTaskRetentionMs: 60_000 };
    const h = createHandlers(deps);
    const state = new StateLayer<ExecutorTaskState>(() => undefined);
    const submitted = submittedOf('task-r');
    await h.TaskSubmitted(submitted, createTestHandlerContext({ event: submitted, state }).ctx);
    const completed = endOf(submitted, 'TaskCompleted');
    const before = Date.now();
    await h.TaskCompleted(completed, createTestHandlerContext({ event: completed, state }).ctx);
    const marker = state.entry('task-r')!;
    expect(marker.value).toMatchObject({ ended: true, submittedEventId: submitted.id, escalations: [] });
    expect(marker.value.scope).toBeUndefined();
    expect(marker.value.expiresAtMs).toBeGreaterThanOrEqual(before + 60_000);
    expect(marker.wakeAtMs).toBe(marker.value.expiresAtMs);
    const w = createTestHandlerContext({ event: completed, state });
    await createWake(deps)('task-r', w.ctx); // not yet
    expect(state.entry('task-r')).toBeDefined();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(marker.value.expiresAtMs! + 1);
    try {
      await createWake(deps)('task-r', w.ctx);
    } finally {
      clock.mockRestore();
    }
    expect(state.entry('task-r')).toBeUndefined(); // a tombstone in the changelog
    expect(state.changes.get('task-r')).toBeNull();

    const halted = endOf(submitted, 'TaskHalted', 'task-h');
    await h.TaskHalted(halted, createTestHandlerContext({ event: halted, state }).ctx);
    expect(state.entry('task-h')?.value.expiresAtMs).toBeUndefined(); // an admin may resume it
  });

  it('validates what it restores: a state from the changelog parses with the schema, a damaged one does not', () => {
    const approval = parsed(actionApproved('task-1', 'a1', 'test.count', { n: 1 }));
    const value = {
      tenantId: 'tenant-a',
      scope: countScope,
      submittedEventId: 's',
      ended: false,
      escalations: [],
      pending: [{ event: approval, hash: 'h', deadlineMs: 1 }],
    };
    expect(ExecutorTaskState.safeParse(JSON.parse(JSON.stringify(value))).success).toBe(true);
    expect(ExecutorTaskState.safeParse({ ...value, ended: 'no' }).success).toBe(false);
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

describe('sealed args (ADR 0026)', () => {
  it('runs the tool with its args opened, seals what the result repeats, and refuses args whose subject was erased', async () => {
    const keys = new MemorySubjectKeyStore();
    const piece = await sealedTextPiece(keys, 'tenant-a:cus_1', 'ada@example.com');
    const got: unknown[] = [];
    const mail = defineRunnableTool({
      spec: defineTool({
        name: 'test.mail',
        description: 'test tool test.mail',
        destructive: false,
        argsSchema: z.object({ to: z.email() }).strict(),
        outputSchema: z.object({ accepted: z.array(z.string()) }),
        riskTier: 'low',
        resources: { recipients: ['to'] },
        criticalFields: [],
      }),
      run: (args: { to: string }) => {
        if (args.to.startsWith('nobody@')) throw new ToolCallError(`no mailbox ${args.to}`, { retryable: false });
        got.push(args);
        return Promise.resolve({ accepted: [args.to] });
      },
    });
    const h = createHandlers({
      ...runningDeps({ n: 0 }),
      tools: createRunnableToolRegistry([mail]),
      breakers: {
        allows: () => true,
        fire: async (_name: string, call: () => Promise<unknown>) => {
          try {
            return { ok: true, value: await call() };
          } catch (error) {
            return { ok: false, error };
          }
        },
      } as never,
      openArgs: async (args, onOpened) => ({
        args: (await openSealed(keys, args, onOpened)) as JsonObject,
        erased: await holdsErased(keys, args),
      }),
      resealText: (text, opened, tenantId, maxChars) =>
        sealRepeatedTextWithin(text, { keys, tenantId, opened, patterns: [] }, maxChars),
      sealResult: (_spec, tenantId, result, opened) =>
        opened === undefined ? Promise.resolve(result) : sealRepeated(result, { keys, tenantId, opened, patterns: [] }),
    });
    const state = stateHolding({ ...running, scope: { tools: ['test.mail'], resources: openResources } });
    const run = async (actionId: string, to = piece, held = state) => {
      const event = parsed(actionApproved('task-1', actionId, 'test.mail', { to }));
      const t = createTestHandlerContext({ event, state: held });
      await h.ActionApproved(event, t.ctx);
      return t.drafts;
    };
    const done = await run('m1');
    expect(got).toEqual([{ to: 'ada@example.com' }]); // the tool got the clear address; the hash bound it sealed
    expect(done.map((d) => d.type)).toEqual(['ToolSucceeded']);
    expect(JSON.stringify(done)).not.toContain('ada@example.com');
    const result = (done[0]!.data as { result: JsonValue }).result;
    expect(await openSealed(keys, result)).toEqual({ accepted: ['ada@example.com'] });

    // out of the task's scope: refused, and the refusal that names the address seals it again
    const narrow = stateHolding({
      ...running,
      scope: { tools: ['test.mail'], resources: { ...openResources, recipients: ['*@example.org'] } },
    });
    const outOfScope = await run('m3', await sealedTextPiece(keys, 'tenant-a:cus_2', 'bob@example.com'), narrow);
    expect(outOfScope[0]).toMatchObject({ type: 'ToolFailed', data: { errorClass: 'refused' } });
    expect(JSON.stringify(outOfScope)).toContain('resource_out_of_scope');
    expect(JSON.stringify(outOfScope)).not.toContain('bob@example.com');

    // a tool's error that quotes the address: the failure is published with it sealed again
    const failed = await run('m4', await sealedTextPiece(keys, 'tenant-a:cus_3', 'nobody@example.com'));
    expect(failed[0]).toMatchObject({ type: 'ToolFailed', data: { errorClass: 'tool_error' } });
    expect(JSON.stringify(failed)).not.toContain('nobody@example.com');
    expect(await openSealed(keys, (failed[0]!.data as { message: string }).message)).toBe(
      'no mailbox nobody@example.com',
    );

    await keys.erase('tenant-a:cus_1');
    const refused = await run('m2');
    expect(got).toHaveLength(1); // not run
    expect(refused[0]).toMatchObject({ type: 'ToolFailed', data: { errorClass: 'refused' } });
    expect(JSON.stringify(refused[0]!.data)).toContain('erased');
  });
});
