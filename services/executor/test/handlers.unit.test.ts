import { eventSchemas, type EventOf } from '@warden/contracts';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { createRunnableToolRegistry } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { createHandlers } from '../src/index.js';
import { actionApproved, testTool } from './helpers.js';

/** Deps that throw when touched: a refused approval must reach neither the ledger nor a breaker. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  },
);

/** Handler deps whose stores throw when touched, with `some` replaced. */
const depsWith = (some: Partial<Parameters<typeof createHandlers>[0]>): Parameters<typeof createHandlers>[0] => ({
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
  ...some,
});

describe("the executor's handlers, without Kafka", () => {
  it('refuses an approval of a tool it does not have: ToolFailed and an alert, the ledger untouched', async () => {
    const handlers = createHandlers(depsWith({}));
    const event = eventSchemas.ActionApproved.parse(
      actionApproved('task-1', 'a1', 'files.shred', { path: 'x' }),
    ) as EventOf<'ActionApproved'>;
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

  it("dispatches nothing once the task's wall time has run out: the refusal is the effect's recorded outcome", async () => {
    let runs = 0;
    const finished: unknown[] = [];
    const handlers = createHandlers(
      depsWith({
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
      }),
    );
    const draft = actionApproved('task-1', 'a1', 'test.count', { n: 1 });
    const event = eventSchemas.ActionApproved.parse({
      ...draft,
      data: { ...draft.data, deadlineAt: '2030-01-01T00:10:00.000Z' },
    }) as EventOf<'ActionApproved'>;
    const t = createTestHandlerContext({ event });
    await handlers.ActionApproved(event, t.ctx);
    expect(runs).toBe(0);
    expect(t.drafts.map((d) => d.type)).toEqual(['ToolFailed']);
    expect(t.drafts[0]!.data).toMatchObject({ errorClass: 'refused', retryable: false, effectKey: 'task-1:a1' });
    expect(String((t.drafts[0]!.data as { message: string }).message)).toMatch(/^budget_exhausted: /);
    expect(finished).toHaveLength(1);
  });
});
