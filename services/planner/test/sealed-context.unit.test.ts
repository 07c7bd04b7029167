import { ERASED_VALUE, MemorySubjectKeyStore, sealValue, type ChatMessage } from '@warden/contracts';
import { describe, expect, it } from 'vitest';
import { clearMessages, type PlannerDeps } from '../src/index.js';

describe("the model's context with sealed personal data (ADR 0026)", () => {
  it('gives the model the clear values, or [erased], and leaves the messages it was given (the published ones) sealed', async () => {
    const keys = new MemorySubjectKeyStore();
    const email = await sealValue(keys, 'tenant-a:cus_1', 'ada@example.com');
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are careful.' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'customers_query', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: JSON.stringify({ rows: [{ id: 'cus_1', email }] }) },
    ];
    const published = JSON.stringify(messages);
    const deps = { sealing: { keys, patterns: [] } } as Pick<PlannerDeps, 'sealing'>;
    const clear = await clearMessages(messages, deps);
    expect(JSON.parse(clear[2]!.content!)).toEqual({ rows: [{ id: 'cus_1', email: 'ada@example.com' }] });
    expect(clear[0]).toEqual(messages[0]);
    expect(clear[1]).toEqual(messages[1]);
    expect(JSON.stringify(messages)).toBe(published); // what ModelCalled publishes is untouched, still sealed
    expect(published).not.toContain('ada@example.com');
    await keys.erase('tenant-a:cus_1');
    const erased = await clearMessages(messages, deps);
    expect(JSON.parse(erased[2]!.content!)).toEqual({ rows: [{ id: 'cus_1', email: ERASED_VALUE }] });
  });

  it('without an opener the model gets the messages as they are', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'hello' }];
    expect(await clearMessages(messages, {})).toBe(messages);
  });
});
