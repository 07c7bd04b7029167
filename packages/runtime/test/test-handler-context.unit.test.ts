import { EventValidationError, canonicalHash, type EventOf } from '@warden/contracts';
import type { Handler } from '@warden/runtime';
import { createTestCodec, createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';

const totals = { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 };

/** A handler as services write them: logs, publishes two chained events, honours the signal. */
const echo: Handler<'TaskSubmitted'> = async (event, ctx) => {
  ctx.logger.info({ attempt: ctx.attempt }, 'echoing');
  await ctx.publish('AlertRaised', {
    alertId: `${event.taskId}:budget`,
    code: 'budget_exhausted',
    severity: 'warning',
    message: `about ${event.taskId}`,
    subject: { taskId: event.taskId },
  });
  if (ctx.signal.aborted) return;
  await ctx.publish('TaskCompleted', { answer: 'ok', totals }, { policyVersion: 'p.v9' });
};

describe('createTestHandlerContext', () => {
  it('runs a handler without Kafka and records what it published, chained to the event as a worker chains it', async () => {
    const t = createTestHandlerContext();
    await echo(t.event, t.ctx);
    expect(t.drafts.map((d) => d.type)).toEqual(['AlertRaised', 'TaskCompleted']);
    const [alert, done] = t.published;
    expect(alert!.envelope).toMatchObject({
      taskId: 'task-1',
      tenantId: 'tenant-a',
      seq: 1,
      prevHashes: [canonicalHash(t.event)],
      causationId: t.event.id,
      producer: 'test@0.1.0',
    });
    expect(done!.envelope).toMatchObject({ seq: 2, prevHashes: [alert!.hash], causationId: alert!.envelope.id });
    expect(done!.envelope.policyVersion).toBe('p.v9');
    expect(t.ctx.hash).toBe(canonicalHash(t.event));
  });

  it('keeps log lines with the handling fields, and stops a handler through its signal', async () => {
    const t = createTestHandlerContext({ attempt: 3 });
    t.abort(new Error('forced'));
    await echo(t.event, t.ctx);
    expect(t.published).toHaveLength(1);
    expect(t.logs).toEqual([
      expect.objectContaining({
        msg: 'echoing',
        attempt: 3,
        eventId: t.event.id,
        taskId: 'task-1',
        type: 'TaskSubmitted',
      }),
    ]);
    expect(t.ctx.span.isRecording()).toBe(false);
    expect(t.ctx.source).toEqual({ topic: 'warden.tasks.v1', partition: 0, offset: '0' });
  });

  it('refuses an invalid response as the worker would, and handles any given event', async () => {
    const first = createTestHandlerContext();
    await first.ctx.publish('TaskCompleted', { answer: 'ok', totals });
    const completed = first.published[0]!.envelope as EventOf<'TaskCompleted'>;
    const t = createTestHandlerContext({ event: completed, codec: createTestCodec(), logLevel: 'silent' });
    expect(t.ctx.source.topic).toBe('warden.outcomes.v1');
    await expect(t.ctx.publish('TaskCompleted', { answer: 42 } as never)).rejects.toBeInstanceOf(EventValidationError);
    t.ctx.logger.error('not kept');
    expect([t.published, t.logs]).toEqual([[], []]);
  });
});
