import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortableSleep } from '@warden/runtime';

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
