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

/**
 * Runs `work` with a signal of its own that aborts when `signal` does, and unlinks the two when `work` settles. For
 * a long-lived signal (a worker's stop signal) handed to a library that adds an abort listener per call and never
 * removes it (the openai client does): without this, every call leaves a listener, and its closure, on the
 * worker's signal for as long as the worker runs.
 */
export async function withScopedSignal<T>(
  signal: AbortSignal | undefined,
  work: (scoped: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (signal === undefined) return work(undefined);
  const scoped = new AbortController();
  if (signal.aborted) scoped.abort(signal.reason);
  const forward = (): void => scoped.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    return await work(scoped.signal);
  } finally {
    signal.removeEventListener('abort', forward);
  }
}
