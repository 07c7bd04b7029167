import type { EventDataInput, EventType, WardenEvent } from '@warden/contracts';
import type { HandlerContext } from '@warden/runtime';
import type { LastHandling, RecordedOutput } from '../task-store.js';

/** A handler context whose publish also records what it published, for LastHandling. */
export function recording(ctx: HandlerContext): { ctx: HandlerContext; outputs: RecordedOutput[] } {
  const outputs: RecordedOutput[] = [];
  const publish: HandlerContext['publish'] = async (type, data, options) => {
    const encoded = await ctx.publish(type, data, options);
    outputs.push({
      type,
      data,
      ...(options?.policyVersion === undefined ? {} : { policyVersion: options.policyVersion }),
    });
    return encoded;
  };
  return { ctx: Object.assign(Object.create(ctx) as HandlerContext, { publish }), outputs };
}

/** The LastHandling of this handling. */
export function handlingOf(event: WardenEvent, ctx: HandlerContext, outputs: readonly RecordedOutput[]): LastHandling {
  return { eventId: event.id, source: { ...ctx.source }, outputsJson: JSON.stringify(outputs) };
}

/**
 * An event whose handling already saved the task's state: if it is the same record read again (same topic,
 * partition and offset: the handling's transaction was aborted by a crash after the save), publishes the recorded
 * outputs again and returns true. The same event published twice (another offset) gets nothing: it was handled.
 */
export async function replayIfRedelivered(
  handled: LastHandling | undefined,
  event: WardenEvent,
  ctx: HandlerContext,
): Promise<boolean> {
  if (handled === undefined || handled.eventId !== event.id) return false;
  const s = ctx.source;
  if (
    handled.source.topic !== s.topic ||
    handled.source.partition !== s.partition ||
    handled.source.offset !== s.offset
  )
    return false;
  const outputs = JSON.parse(handled.outputsJson) as RecordedOutput[];
  ctx.logger.warn(
    { outputs: outputs.length },
    'handling redelivered after its state was saved: outputs published again',
  );
  for (const o of outputs) {
    await ctx.publish(
      o.type,
      o.data as EventDataInput<EventType>,
      o.policyVersion === undefined ? undefined : { policyVersion: o.policyVersion },
    );
  }
  return true;
}
