import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortableSleep, withScopedSignal } from '@warden/runtime';

describe('abortableSleep', () => {
  it('resolves after the wait and leaves no listener on the signal', async () => {
    const controller = new AbortController();
    await expect(abortableSleep(1, controller.signal)).resolves.toBeUndefined();
    await expect(abortableSleep(1)).resolves.toBeUndefined();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it("rejects with the signal's reason when aborted during the wait, or at once when aborted before", async () => {
    const controller = new AbortController();
    const reason = new Error('draining');
    const sleeping = abortableSleep(3_600_000, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(abortableSleep(3_600_000, controller.signal)).rejects.toBe(reason);
  });
});

describe('withScopedSignal', () => {
  it("aborts the scoped signal with the caller's reason, and unlinks it once the work settles", async () => {
    const caller = new AbortController();
    const reason = new Error('draining');
    const seen = await withScopedSignal(caller.signal, async (scoped) => {
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
      caller.abort(reason);
      return scoped;
    });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(reason);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener when the work fails, and none after many calls', async () => {
    const caller = new AbortController();
    await expect(withScopedSignal(caller.signal, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    for (let i = 0; i < 100; i++) await withScopedSignal(caller.signal, () => Promise.resolve(i));
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('gives an aborted signal for an already aborted caller, and none for no caller', async () => {
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    expect((await withScopedSignal(caller.signal, (s) => Promise.resolve(s)))?.aborted).toBe(true);
    expect(await withScopedSignal(undefined, (s) => Promise.resolve(s))).toBeUndefined();
  });
});
