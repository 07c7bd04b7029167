import { canonicalHash, eventSchemas, follow, newTask, type EventOf } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { createTestHandlerContext } from '@warden/runtime/testing';
import { describe, expect, it } from 'vitest';
import { createHandlers, type HandlerDeps } from '../src/index.js';

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
  it('skips, with a warning and nothing published, a result for a task it has no state for', async () => {
    const loaded: string[] = [];
    const handlers = createHandlers(
      depsWith({
        store: {
          load: (taskId: string) => {
            loaded.push(taskId);
            return Promise.resolve(null);
          },
        } as unknown as HandlerDeps['store'],
      }),
      settings,
    );
    const event = toolSucceeded();
    const t = createTestHandlerContext({ event });
    await handlers.ToolSucceeded(event, t.ctx);
    expect(loaded).toEqual(['task-1']);
    expect(t.published).toEqual([]);
    expect(t.logs).toEqual([
      expect.objectContaining({ level: 40, taskId: 'task-1', eventId: event.id, type: 'ToolSucceeded' }),
    ]);
  });
});
