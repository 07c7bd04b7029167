/**
 * Waits `ms`, or until `signal` aborts: then it rejects with the signal's reason (what the caller aborted with, not a
 * generic AbortError), removes its timer, and leaves no listener behind. An already aborted signal rejects at once.
 * For backoffs and retry-after waits inside a handling, so a draining worker is not held up by a sleep.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
