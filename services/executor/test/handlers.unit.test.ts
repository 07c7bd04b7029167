import { eventSchemas, type EventOf } from '@warden/contracts';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { createRunnableToolRegistry } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { createHandlers } from '../src/index.js';
import { actionApproved } from './helpers.js';

/** Deps that throw when touched: a refused approval must reach neither the ledger nor a breaker. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, key) => {
      throw new Error(`touched ${String(key)}`);
    },
  },
);

describe("the executor's handlers, without Kafka", () => {
  it('refuses an approval of a tool it does not have: ToolFailed and an alert, the ledger untouched', async () => {
    const handlers = createHandlers({
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
    });
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
});
