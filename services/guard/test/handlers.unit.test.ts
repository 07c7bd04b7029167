import { readFileSync } from 'node:fs';
import {
  MemorySubjectKeyStore,
  canonicalHash,
  eventSchemas,
  follow,
  newTask,
  sealValue,
  type EventOf,
  sealedTextPiece,
  type JsonObject,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createHandlers, createWake, emptyTaskState, type GuardTaskState } from '@warden/guard-service';
import { DEFAULT_POLICY_FILE, loadPolicy, sealedOpener } from '@warden/policy';
import { StateLayer, TerminalHandlerError } from '@warden/runtime';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';

const policy = loadPolicy(JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as unknown);

/** An ActionProposed of task-1, chained to its TaskSubmitted. */
function proposal(step = 1): EventOf<'ActionProposed'> {
  const task = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
  const args = { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
  const data = {
    actionId: 'a1',
    step,
    tool: 'customers.update',
    args,
    argsHash: canonicalHash(args),
    reasoning: 'the customer asked',
    confidence: { value: 0.97, source: 'structured' as const },
    claims: [],
  };
  const draft = follow({ envelope: task, hash: canonicalHash(task) }, 'ActionProposed', data, { producer: 'planner' });
  return eventSchemas.ActionProposed.parse(draft) as EventOf<'ActionProposed'>;
}

describe("the guard's handlers, without Kafka", () => {
  it('rejects a proposal of a task it has never seen (no scope is known), chained to the proposal', async () => {
    const handlers = createHandlers({
      policy,
      estimateImpact: () => Promise.resolve({ rows: 1, files: 0, recipients: 0, moneyUsd: 0 }),
      escalationTtlMs: 3_600_000,
      now: () => new Date('2030-01-01T00:00:00Z'),
      causeWaitMs: 0,
    });
    const event = proposal();
    const t = createTestHandlerContext({ event });
    await handlers.ActionProposed(event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['ActionRejected']);
    expect(t.drafts[0]!.data).toMatchObject({
      proposalEventId: event.id,
      actionId: 'a1',
      ruleFired: 'task',
      reasonCode: 'task_unknown',
      policyVersion: policy.version,
      tool: 'customers.update',
      argsHash: event.data.argsHash,
    });
    expect(t.published[0]!.envelope).toMatchObject({
      causationId: event.id,
      seq: event.seq + 1,
      prevHashes: [t.ctx.hash],
      policyVersion: policy.version,
    });
  });

  describe('budgets before the verdict', () => {
    const submittedAtMs = Date.parse('2030-01-01T00:00:00Z');
    const task = sampleTask({ budgets: { maxTokens: 50_000, maxCostUsd: 1, maxSteps: 3, maxWallTimeMs: 600_000 } });
    const deadlineMs = submittedAtMs + 600_000;
    /** A state holding task-1 as submitted at submittedAtMs. */
    const stateWithTask = () => {
      const state = new StateLayer<GuardTaskState>(() => undefined);
      const value: GuardTaskState = {
        ...emptyTaskState(),
        tenantId: 'tenant-a',
        task: task as never,
        submittedEventId: 'submitted-1',
        submittedAt: new Date(submittedAtMs).toISOString(),
      };
      state.handle('task-1').set(value);
      return state;
    };
    const guardAt = (nowMs: number) =>
      createHandlers({
        policy,
        estimateImpact: () => Promise.resolve({ rows: 1, files: 0, recipients: 0, moneyUsd: 0 }),
        escalationTtlMs: 3_600_000,
        now: () => new Date(nowMs),
        causeWaitMs: 0,
      });

    it("rejects an action once the task's wall time has run out: no effect is approved after it", async () => {
      const event = proposal();
      const t = createTestHandlerContext({ event, state: stateWithTask() });
      await guardAt(deadlineMs + 1).ActionProposed(event, t.ctx);
      expect(t.drafts.map((d) => d.type)).toEqual(['ActionRejected']);
      expect(t.drafts[0]!.data).toMatchObject({
        ruleFired: 'budget',
        reasonCode: 'wall_time_exhausted',
        actionId: 'a1',
      });
    });

    it('rejects an action past the step budget', async () => {
      const event = proposal(4);
      const t = createTestHandlerContext({ event, state: stateWithTask() });
      await guardAt(submittedAtMs + 1_000).ActionProposed(event, t.ctx);
      expect(t.drafts[0]!.data).toMatchObject({ ruleFired: 'budget', reasonCode: 'steps_exhausted' });
    });

    it("judges an action within the budgets as usual, and its verdict carries the task's deadline", async () => {
      const event = proposal(3);
      const t = createTestHandlerContext({ event, state: stateWithTask() });
      await guardAt(deadlineMs - 1).ActionProposed(event, t.ctx);
      const verdict = t.drafts.find((d) => d.type === 'ActionApproved' || d.type === 'EscalationRequested');
      expect(verdict, JSON.stringify(t.drafts.map((d) => d.data))).toBeDefined();
      const deadlineAt = new Date(deadlineMs).toISOString();
      if (verdict!.type === 'ActionApproved') expect(verdict!.data).toMatchObject({ deadlineAt });
      else expect(verdict!.data).toMatchObject({ action: { deadlineAt } });
    });
  });

  describe('the event-time join (ADR 0027): a proposal waits in its task state for its causes', () => {
    const deps = {
      policy,
      estimateImpact: () => Promise.resolve({ rows: 1, files: 0, recipients: 0, moneyUsd: 0 }),
      escalationTtlMs: 3_600_000,
      now: () => new Date(),
      causeWaitMs: 60_000,
    };
    const submitted = () =>
      eventSchemas.TaskSubmitted.parse(
        newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' }),
      ) as EventOf<'TaskSubmitted'>;

    it('keeps a proposal whose task has not arrived, and judges it when the TaskSubmitted does', async () => {
      const handlers = createHandlers(deps);
      const state = new StateLayer<GuardTaskState>(() => undefined);
      const event = proposal();
      const early = createTestHandlerContext({ event, state });
      await handlers.ActionProposed(event, early.ctx);
      expect(early.drafts).toEqual([]);
      const waiting = state.handle('task-1').get()!;
      expect(waiting.pending.map((p) => p.event.id)).toEqual([event.id]);
      expect(state.handle('task-1').wakesAt()).toBe(waiting.pending[0]!.deadlineMs);

      const task = submitted();
      const late = createTestHandlerContext({ event: task, state });
      await handlers.TaskSubmitted(task, late.ctx);
      const verdicts = late.published.filter((e) => e.envelope.type !== 'AlertRaised');
      expect(verdicts.map((e) => e.envelope.type)).toEqual(['ActionApproved']);
      // Chained to the proposal it judges, not to the TaskSubmitted that completed it.
      expect(verdicts[0]!.envelope).toMatchObject({
        causationId: event.id,
        seq: event.seq + 1,
        prevHashes: [early.ctx.hash],
      });
      const after = state.handle('task-1').get()!;
      expect(after.pending).toEqual([]);
      expect(after.task).toBeDefined();
      expect(state.handle('task-1').wakesAt()).toBeUndefined();
    });

    it('judges a waiting proposal on what is known at its deadline (the wake-up): no task, rejected', async () => {
      const handlers = createHandlers({ ...deps, causeWaitMs: 1 });
      const state = new StateLayer<GuardTaskState>(() => undefined);
      const event = proposal();
      const early = createTestHandlerContext({ event, state });
      await handlers.ActionProposed(event, early.ctx);
      expect(early.drafts).toEqual([]);
      await new Promise((r) => setTimeout(r, 5));
      const wakeCtx = createTestHandlerContext({ event, state });
      await createWake({ ...deps, causeWaitMs: 1 })('task-1', wakeCtx.ctx);
      expect(wakeCtx.drafts.map((d) => d.type)).toEqual(['ActionRejected']);
      expect(wakeCtx.drafts[0]!.data).toMatchObject({ reasonCode: 'task_unknown', proposalEventId: event.id });
      expect(state.handle('task-1').get()!.pending).toEqual([]);
    });

    it('drops a waiting proposal that can never be judged with a critical alert, and still records its task', async () => {
      const handlers = createHandlers({
        ...deps,
        estimateImpact: () => Promise.reject(new TerminalHandlerError('no store to size it in')),
      });
      const state = new StateLayer<GuardTaskState>(() => undefined);
      const event = proposal();
      await handlers.ActionProposed(event, createTestHandlerContext({ event, state }).ctx);
      const task = submitted();
      const late = createTestHandlerContext({ event: task, state });
      await handlers.TaskSubmitted(task, late.ctx); // does not throw: the TaskSubmitted is not dead-lettered
      expect(late.drafts.map((d) => d.type)).toEqual(['AlertRaised']);
      expect(late.drafts[0]!.data).toMatchObject({ code: 'dead_lettered', severity: 'critical' });
      expect(late.published[0]!.envelope.causationId).toBe(event.id);
      expect(state.handle('task-1').get()!.pending).toEqual([]);
      expect(state.handle('task-1').get()!.task).toBeDefined();
    });

    it("evicts the task's state at its end (a tombstone in the changelog), and keeps it through a halt", async () => {
      const handlers = createHandlers(deps);
      const state = new StateLayer<GuardTaskState>(() => undefined);
      const task = submitted();
      await handlers.TaskSubmitted(task, createTestHandlerContext({ event: task, state }).ctx);
      expect(state.handle('task-1').get()).toBeDefined();
      // A halted task may be resumed by an admin: the guard has no TaskHalted handler that could drop its state.
      expect(Object.keys(handlers)).not.toContain('TaskHalted');
      // The handler reads nothing of the end event but its task (the state's key).
      const end = { ...task, type: 'TaskFailed' } as never as EventOf<'TaskFailed'>;
      await handlers.TaskFailed(end, createTestHandlerContext({ event: task, state }).ctx);
      expect(state.handle('task-1').get()).toBeUndefined();
      expect(state.changes.get('task-1')).toBeNull();
    });
  });
});

describe('sealed personal data in tool results and proposals (ADR 0026)', () => {
  const clearArgs = { to: ['ada.lovelace@example.com'], subject: 'Shipped', body: 'Your order shipped.' };

  /** A task that looked cus_7 up (its e-mail sealed) and proposes `args`; the verdict the guard gives, as drafted. */
  async function verdictOn(keys: MemorySubjectKeyStore, args: JsonObject, openSealedValues: boolean) {
    const email = await sealValue(keys, 'tenant-a:cus_7', 'ada.lovelace@example.com');
    const task = sampleTask({
      goal: 'Write to the customer cus_7 that the order shipped',
      input: { customerId: 'cus_7' },
      scope: { tools: ['customers.query', 'email.send'], resources: { collections: ['customers'], recipients: ['*'] } },
    });
    const submitted = eventSchemas.TaskSubmitted.parse(
      newTask(task, { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' }),
    ) as EventOf<'TaskSubmitted'>;
    const link = { envelope: submitted, hash: canonicalHash(submitted) };
    const result = { rows: [{ id: 'cus_7', email, status: 'active' }], total: 1 };
    const succeeded = eventSchemas.ToolSucceeded.parse(
      follow(
        link,
        'ToolSucceeded',
        { actionId: 'q1', tool: 'customers.query', effectKey: 'task-1:q1', result, durationMs: 2 },
        { producer: 'executor' },
      ),
    ) as EventOf<'ToolSucceeded'>;
    const proposed = eventSchemas.ActionProposed.parse(
      follow(
        link,
        'ActionProposed',
        {
          actionId: 'a2',
          step: 2,
          tool: 'email.send',
          args,
          argsHash: canonicalHash(args),
          reasoning: 'tell the customer',
          confidence: { value: 0.97, source: 'structured' as const },
          claims: [],
        },
        { producer: 'planner' },
      ),
    ) as EventOf<'ActionProposed'>;
    const handlers = createHandlers({
      policy,
      estimateImpact: () => Promise.resolve({ rows: 0, files: 0, recipients: 1, moneyUsd: 0 }),
      escalationTtlMs: 3_600_000,
      now: () => new Date(),
      causeWaitMs: 0,
      ...(openSealedValues
        ? (() => {
            const opener = sealedOpener(keys);
            return { openSealed: opener.open, holdsErased: opener.erased, resealText: opener.reseal! };
          })()
        : {}),
    });
    const state = new StateLayer<GuardTaskState>(() => undefined);
    for (const event of [submitted, succeeded, proposed]) {
      const t = createTestHandlerContext({ event, state });
      await (handlers[event.type] as (e: typeof event, c: typeof t.ctx) => Promise<void>)(event, t.ctx);
      if (event === proposed) {
        const kept = JSON.stringify(state.handle('task-1').get());
        expect(kept).not.toContain('ada.lovelace@example.com'); // the state (and its changelog) stays sealed
        const verdicts = ['ActionApproved', 'ActionRejected', 'EscalationRequested'];
        return { verdict: t.drafts.find((d) => verdicts.includes(d.type))!, drafts: t.drafts, proposed };
      }
    }
    throw new Error('unreachable');
  }

  it('grounds an action in a sealed result once opened in memory, and keeps the result sealed in its state', async () => {
    const keys = new MemorySubjectKeyStore();
    const { verdict: opened } = await verdictOn(keys, clearArgs, true);
    expect(opened.type, JSON.stringify(opened.data)).toBe('ActionApproved');
    const { verdict: sealedOnly } = await verdictOn(keys, clearArgs, false); // a sealed value grounds nothing
    expect(sealedOnly.type).not.toBe('ActionApproved');
    expect(JSON.stringify(sealedOnly.data)).toContain('ungrounded_literal');
  });

  it('grounds sealed args as their clear text and binds the approval to them as sealed; erased: escalates', async () => {
    const keys = new MemorySubjectKeyStore();
    const to = await sealedTextPiece(keys, 'tenant-a:cus_7', 'ada.lovelace@example.com');
    const args = { ...clearArgs, to: [to] }; // as the planner publishes what the model repeated
    const { verdict, drafts, proposed } = await verdictOn(keys, args, true);
    expect(verdict.type, JSON.stringify(verdict.data)).toBe('ActionApproved');
    expect(verdict.data).toMatchObject({ args, argsHash: proposed.data.argsHash }); // what the event holds: sealed
    expect(JSON.stringify(drafts)).not.toContain('ada.lovelace@example.com');

    // without an opener the sealed recipient is judged as it stands: never allowed
    expect((await verdictOn(keys, args, false)).verdict.type).not.toBe('ActionApproved');

    // a sealed recipient the results do not hold: not grounded, and the verdict's texts that quote it seal it again
    const eve = await sealedTextPiece(keys, 'tenant-a:cus_7', 'eve@example.com');
    const ungrounded = await verdictOn(keys, { ...clearArgs, to: [eve] }, true);
    expect(ungrounded.verdict.type).not.toBe('ActionApproved');
    expect(JSON.stringify(ungrounded.drafts)).toContain('ungrounded_literal');
    expect(JSON.stringify(ungrounded.drafts)).not.toContain('eve@example.com');

    // erased (the result's key is new, the args' is gone): never allowed. An erased recipient fails the tool's
    // schema (denied); an erased piece of the body escalates, whatever else holds
    await keys.erase('tenant-a:cus_7');
    const erasedTo = await verdictOn(new MemorySubjectKeyStore(), args, true);
    expect(erasedTo.verdict.type).toBe('ActionRejected');
    const name = await sealedTextPiece(keys, 'tenant-a:cus_7', 'Ada');
    await keys.erase('tenant-a:cus_7');
    const erasedBody = await verdictOn(keys, { ...clearArgs, body: `Dear ${name}, your order shipped.` }, true);
    expect(erasedBody.verdict.type).toBe('EscalationRequested');
    expect(JSON.stringify(erasedBody.drafts)).toContain('sealed_value_erased');
  });
});
