import {
  canonicalHash,
  eventSchemas,
  follow,
  generateSigningKeyPair,
  newTask,
  signHaltDecision,
  type EventData,
  type EventOf,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { StateLayer } from '@warden/runtime';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { createHandlers, initialState, type HandlerDeps, type PlannerRecord, type TaskState } from '../src/index.js';

/** A keyed state holding `record` for every task. */
const holding = (record: PlannerRecord | undefined) =>
  new StateLayer<PlannerRecord>(() => (record === undefined ? undefined : { value: record }));

/** Deps that throw when touched, but for those a test gives. */
function depsWith(given: Partial<HandlerDeps>): HandlerDeps {
  return new Proxy(given, {
    get: (target, key) => {
      if (key in target) return target[key as keyof HandlerDeps];
      throw new Error(`touched ${String(key)}`);
    },
  }) as HandlerDeps;
}

/** TaskSubmitted's settings: unused by the handlers tested here. */
const settings = { defaultModel: 'scripted', ceilings: {} } as unknown as Parameters<typeof createHandlers>[1];

/** A ToolSucceeded of task-1, chained to its TaskSubmitted. */
function toolSucceeded(): EventOf<'ToolSucceeded'> {
  const task = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
  const draft = follow(
    { envelope: task, hash: canonicalHash(task) },
    'ToolSucceeded',
    { actionId: 'a1', tool: 'customers.query', effectKey: 'task-1:a1', result: { rows: [] }, durationMs: 3 },
    { producer: 'executor@test' },
  );
  return eventSchemas.ToolSucceeded.parse(draft) as EventOf<'ToolSucceeded'>;
}

describe("the planner's handlers, without Kafka", () => {
  it('skips, with a warning and nothing published or kept, a result for a task it has no state for', async () => {
    const handlers = createHandlers(depsWith({}), settings);
    const event = toolSucceeded();
    const t = createTestHandlerContext<EventOf<'ToolSucceeded'>, PlannerRecord>({ event, state: holding(undefined) });
    await handlers.ToolSucceeded(event, t.ctx);
    expect(t.state.changes.size).toBe(0);
    expect(t.published).toEqual([]);
    expect(t.logs).toEqual([
      expect.objectContaining({ level: 40, taskId: 'task-1', eventId: event.id, type: 'ToolSucceeded' }),
    ]);
  });

  describe("refuses an admin's resume that does not answer the task's halt exactly, with an alert and no change", () => {
    const keys = generateSigningKeyPair('esc-1');
    const trust = { keys: new Map([['esc-1', keys.verifyingKey]]), insecureAcceptUnsigned: false };
    const task = newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' });
    const halt = { eventId: 'halt-2', escalationId: 'task-1:planner:2:loop', reasonCode: 'loop_detected' };
    const halted: TaskState = {
      ...initialState({
        eventId: task.id,
        taskId: 'task-1',
        tenantId: 'tenant-a',
        model: 'scripted:x',
        task: task.data as EventData<'TaskSubmitted'>,
        startedAtMs: 0,
        limits: { maxTokens: 1, maxCostUsd: 1, maxSteps: 1, maxWallTimeMs: 1, maxConsecutiveFailures: 1 },
      }),
      status: 'halted',
      halt,
    };
    const resume = (over: Partial<EventData<'TaskResumed'>> = {}, tenantId = 'tenant-a', key = keys.signingKey) => {
      const data: EventData<'TaskResumed'> = {
        escalationId: halt.escalationId,
        haltEventId: halt.eventId,
        haltReasonCode: halt.reasonCode,
        decidedBy: { id: 'root', kind: 'user', role: 'admin' },
        policyVersion: 'p',
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
        ...over,
      };
      const signature = signHaltDecision('TaskResumed', 'task-1', tenantId, data, key);
      const draft = follow(
        { envelope: { ...task, tenantId }, hash: 'a'.repeat(64) },
        'TaskResumed',
        { ...data, signature },
        { producer: 'escalation' },
      );
      return eventSchemas.TaskResumed.parse(draft) as EventOf<'TaskResumed'>;
    };
    const refusal = async (event: EventOf<'TaskResumed'>, state: TaskState = halted) => {
      const handlers = createHandlers(depsWith({ decisionTrust: trust, now: () => new Date() }), settings);
      const record: PlannerRecord =
        state.status === 'completed'
          ? { ended: { tenantId: state.tenantId, status: 'completed', submittedEventId: task.id, endReason: null } }
          : { task: state, revision: 3 };
      const t = createTestHandlerContext<EventOf<'TaskResumed'>, PlannerRecord>({ event, state: holding(record) });
      await handlers.TaskResumed(event, t.ctx); // a model call or a kept view would touch what depsWith does not give
      expect(t.state.changes.size, 'nothing kept').toBe(0);
      expect(t.published.map((e) => e.envelope.type)).toEqual(['AlertRaised']);
      const alert = t.published[0]!.envelope as unknown as { data: EventData<'AlertRaised'> };
      expect(alert.data).toMatchObject({ code: 'policy_warn', severity: 'critical' });
      return alert.data.subject.reason;
    };

    it('for an earlier halt, another reason, another role, another tenant, a task not halted, or an unknown key', async () => {
      expect(await refusal(resume({ haltEventId: 'halt-1' }))).toBe('halt_mismatch');
      expect(await refusal(resume({ haltReasonCode: 'budget_exhausted' }))).toBe('halt_mismatch');
      expect(await refusal(resume({ decidedBy: { id: 'ana', kind: 'user', role: 'approver' } }))).toBe('not_admin');
      expect(await refusal(resume({}, 'tenant-b'))).toBe('tenant_mismatch');
      expect(await refusal(resume(), { ...halted, status: 'planning' })).toBe('not_halted');
      expect(await refusal(resume(), { ...halted, status: 'completed' }), 'a task ended (its marker only)').toBe(
        'not_halted',
      );
      expect(await refusal(resume({}, 'tenant-a', generateSigningKeyPair('esc-1').signingKey))).toBe(
        'decision_unauthenticated',
      );
    });
  });
});
