import { answerHash, canonicalHash, eventSchemas, follow, newTask, type EventOf } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { StateLayer, TaskConflictError } from '@warden/runtime';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import {
  PlannerRecord,
  createHandlers,
  expire,
  initialState,
  taskBudgetOf,
  toMicroUsd,
  keep,
  o200kCounter,
  plannerWake,
  type HandlerDeps,
  type PendingProposal,
  type TaskState,
  type TaskViewDoc,
} from '../src/index.js';

const DAY_MS = 24 * 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const task = eventSchemas.TaskSubmitted.parse(
  newTask(sampleTask(), { tenantId: 'tenant-a', taskId: 'task-1', producer: 'test' }),
) as EventOf<'TaskSubmitted'>;
const limits = { maxTokens: 1_000, maxCostUsd: 1, maxSteps: 5, maxWallTimeMs: 60_000, maxConsecutiveFailures: 3 };
const running: TaskState = {
  ...initialState({
    eventId: task.id,
    taskId: 'task-1',
    tenantId: 'tenant-a',
    model: 'scripted:x',
    task: task.data,
    startedAtMs: T0,
    limits,
  }),
  status: 'waiting',
  steps: 2,
  consecutiveFailures: 1,
  totals: { usage: { promptTokens: 300, completionTokens: 40, totalTokens: 340 }, costUsd: 0.002 },
  turns: [
    {
      assistant: { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'q', arguments: '{}' }] },
      replies: [{ role: 'tool', content: '{"rows":[]}', toolCallId: 'c1' }],
      logprobConfidence: null,
    },
  ],
  pending: { kind: 'answer', actionId: 'answer-3', answer: 'Done.', output: { ok: true } },
  history: [
    { actionId: 'c1', tool: 'customers.query', argsHash: 'h', outcome: 'succeeded', resultHash: 'r', note: 'ok' },
  ],
  escalations: [
    {
      escalationId: 'e1',
      taskId: 'task-1',
      actionId: 'answer-3',
      argsHash: null,
      policyVersion: 'p',
      expiresAt: '2026-12-02T00:00:00Z',
    },
  ],
};

/** What a restore does with a value: JSON through the changelog, then the schema. */
const restored = (value: unknown) => PlannerRecord.safeParse(JSON.parse(JSON.stringify(value)));

/** A keyed state of one task, and the views left for the write-behind. */
function held(record?: PlannerRecord) {
  const layer = new StateLayer<PlannerRecord>(() => (record === undefined ? undefined : { value: record }));
  const views: TaskViewDoc[] = [];
  return { layer, handle: layer.handle('task-1'), views, sink: { put: (v: TaskViewDoc) => void views.push(v) } };
}

describe("the planner's keyed state of a task (ADR 0029)", () => {
  describe('restore schema', () => {
    it('takes back a running task and an ended marker as they were written', () => {
      const record = { task: running, revision: 7 };
      expect(restored(record)).toEqual({ success: true, data: record });
      const ended = {
        ended: { tenantId: 'tenant-a', status: 'failed', submittedEventId: task.id, endReason: 'cancelled' },
      };
      expect(restored(ended)).toEqual({ success: true, data: ended });
    });

    it("takes back the task's budget figures (ADR 0031), and a record written before them, without", () => {
      const withBudget = { task: { ...running, budget: { tokens: 1_200, microUsd: 340 } }, revision: 3 };
      expect(restored(withBudget)).toEqual({ success: true, data: withBudget });
      const old = { task: { ...running }, revision: 2 };
      delete (old.task as { budget?: unknown }).budget;
      const back = restored(old);
      expect(back.success).toBe(true);
      expect(taskBudgetOf((back.data as { task: TaskState }).task)).toEqual({
        tokens: running.totals.usage.totalTokens,
        microUsd: toMicroUsd(running.totals.costUsd),
      });
      expect(restored({ task: { ...running, budget: { tokens: -1, microUsd: 0 } }, revision: 1 }).success).toBe(false);
    });

    it('refuses a value that is not a record it wrote (the key then restores with no state, failing closed)', () => {
      expect(restored({ task: { ...running, status: 'sleeping' }, revision: 1 }).success).toBe(false);
      expect(restored({ task: { ...running, totals: undefined }, revision: 1 }).success).toBe(false);
      expect(restored({ task: running }).success, 'no revision').toBe(false);
      expect(restored({ task: running, revision: 1, extra: true }).success, 'an unknown key').toBe(false);
      expect(restored({ task: { ...running, pending: { kind: 'answer' } }, revision: 1 }).success).toBe(false);
      expect(restored({ ended: { tenantId: 'tenant-a', status: 'halted', submittedEventId: 'x' } }).success).toBe(
        false,
      );
      expect(restored({ state: running }).success, 'the MongoDB document shape').toBe(false);
    });
  });

  describe('keep and eviction', () => {
    const options = (sink: { put(v: TaskViewDoc): void }, retentionMs = DAY_MS) => ({
      endedTaskRetentionMs: retentionMs,
      now: () => new Date(T0),
      views: sink,
    });

    it('keeps a running or halted task whole, at the next revision, with no wake-up, and leaves its view', () => {
      const h = held({ task: running, revision: 4 });
      keep(h.handle, { ...running, status: 'halted' }, options(h.sink));
      expect(h.handle.get()).toEqual({ task: { ...running, status: 'halted' }, revision: 5 });
      expect(h.handle.wakesAt()).toBeUndefined();
      expect(h.views).toEqual([
        {
          _id: 'task-1',
          tenantId: 'tenant-a',
          status: 'halted',
          revision: 5,
          tokens: { used: 340, limit: 1_000 },
          costUsd: { used: 0.002, limit: 1 },
          steps: { used: 2, limit: 5 },
          failures: { consecutive: 1, limit: 3 },
          updatedAt: new Date(T0).toISOString(),
        },
      ]);
    });

    it('leaves no view of a task that never came before a person: only the escalation page reads views', () => {
      const h = held({ task: running, revision: 1 });
      const unseen: TaskState = { ...running, escalations: [] };
      keep(h.handle, unseen, options(h.sink));
      keep(h.handle, { ...unseen, status: 'completed', endReason: 'completed' }, options(h.sink));
      expect(h.views, 'running, then completed, with no escalation').toEqual([]);
      expect(h.handle.get(), 'its state is kept all the same').toMatchObject({ ended: { status: 'completed' } });
      const halting = held({ task: running, revision: 1 });
      keep(halting.handle, { ...unseen, status: 'halted' }, options(halting.sink));
      keep(halting.handle, { ...unseen, status: 'waiting' }, options(halting.sink));
      expect(
        halting.views.map((v) => v.status),
        'a halted task is shown; a waiting one without escalation is not',
      ).toEqual(['halted']);
    });

    it('keeps only a marker of a completed or failed task, deleted by the wake-up once its retention has passed', () => {
      const h = held({ task: running, revision: 4 });
      keep(h.handle, { ...running, status: 'completed', endReason: 'completed' }, options(h.sink));
      expect(h.handle.get()).toEqual({
        ended: {
          tenantId: 'tenant-a',
          status: 'completed',
          submittedEventId: task.id,
          endReason: 'completed',
          expiresAtMs: T0 + DAY_MS,
        },
      });
      expect(h.handle.wakesAt()).toBe(T0 + DAY_MS);
      expect(h.views.map((v) => [v.status, v.revision])).toEqual([['completed', 5]]);
      expire(h.handle, T0 + DAY_MS - 1);
      expect(h.handle.get(), 'not before its time').toBeDefined();
      expire(h.handle, T0 + DAY_MS);
      expect(h.handle.get()).toBeUndefined();
      expect(h.layer.changes.get('task-1'), 'a tombstone').toBeNull();
    });

    it('keeps the marker for ever with a retention of 0, and the wake-up never deletes a running task', async () => {
      const h = held({ task: running, revision: 1 });
      keep(h.handle, { ...running, status: 'failed', endReason: 'cancelled' }, options(h.sink, 0));
      expect(h.handle.wakesAt()).toBeUndefined();
      expire(h.handle, Number.MAX_SAFE_INTEGER);
      expect(h.handle.get()).toMatchObject({ ended: { status: 'failed' } });

      const r = held({ task: running, revision: 1 });
      const t = createTestHandlerContext<EventOf<'TaskSubmitted'>, PlannerRecord>({ event: task, state: r.layer });
      await plannerWake(() => new Date(Number.MAX_SAFE_INTEGER))('task-1', t.ctx);
      expect(r.layer.changes.size).toBe(0);
    });
  });

  describe('through the handlers', () => {
    const deps = (views: { put(v: TaskViewDoc): void }): HandlerDeps =>
      ({
        tokens: o200kCounter,
        window: { lastTurns: 2, toolOutputMaxTokens: 100, summaryMaxTokens: 200 },
        redact: <T>(v: T) => v,
        now: () => new Date(T0),
        views,
        endedTaskRetentionMs: DAY_MS,
      }) as unknown as HandlerDeps;
    const settings = { defaultModel: 'scripted', ceilings: {} } as unknown as Parameters<typeof createHandlers>[1];

    it("an approved answer completes the task: TaskCompleted, and the task's state becomes its end marker", async () => {
      const h = held({ task: running, revision: 2 });
      const pending = running.pending as Extract<PendingProposal, { kind: 'answer' }>;
      const approval = eventSchemas.ActionApproved.parse(
        follow(
          { envelope: task, hash: canonicalHash(task) },
          'ActionApproved',
          {
            proposalEventId: crypto.randomUUID(),
            proposalKind: 'answer',
            actionId: 'answer-3',
            rulesEvaluated: [],
            ruleFired: null,
            reasonCode: 'allowed',
            policyVersion: 'test',
            inputHashes: { proposal: 'a'.repeat(64), state: 'a'.repeat(64), policy: 'a'.repeat(64) },
            tool: null,
            args: null,
            argsHash: answerHash(pending.answer, pending.output),
          },
          { producer: 'guard@test' },
        ),
      ) as EventOf<'ActionApproved'>;
      const t = createTestHandlerContext<EventOf<'ActionApproved'>, PlannerRecord>({
        event: approval,
        state: h.layer,
      });
      await createHandlers(deps(h.sink), settings).ActionApproved(approval, t.ctx);
      expect(t.published.map((e) => e.envelope.type)).toEqual(['TaskCompleted']);
      expect(t.ctx.state.get()).toMatchObject({ ended: { status: 'completed', expiresAtMs: T0 + DAY_MS } });
      expect(t.ctx.state.wakesAt()).toBe(T0 + DAY_MS);
    });

    it('a second TaskSubmitted of an ended task is a conflict; the same one again changes nothing', async () => {
      const h = held({
        ended: { tenantId: 'tenant-a', status: 'completed', submittedEventId: task.id, endReason: null },
      });
      const handlers = createHandlers(deps(h.sink), settings);
      const again = createTestHandlerContext<EventOf<'TaskSubmitted'>, PlannerRecord>({ event: task, state: h.layer });
      await handlers.TaskSubmitted(task, again.ctx);
      expect([again.published, h.layer.changes.size]).toEqual([[], 0]);
      const other = eventSchemas.TaskSubmitted.parse(
        newTask(sampleTask(), { tenantId: 'tenant-b', taskId: 'task-1', producer: 'test' }),
      ) as EventOf<'TaskSubmitted'>;
      const t = createTestHandlerContext<EventOf<'TaskSubmitted'>, PlannerRecord>({ event: other, state: h.layer });
      await expect(handlers.TaskSubmitted(other, t.ctx)).rejects.toBeInstanceOf(TaskConflictError);
    });
  });
});
