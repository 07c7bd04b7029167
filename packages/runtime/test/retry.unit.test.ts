import { RetryableHandlerError, ShutdownTimeoutError, TerminalHandlerError } from '@warden/runtime';
import { EventValidationError, RegistryUnavailableError } from '@warden/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  errorCodeOf,
  failureOutcome,
  isRetryable,
  retryDelayMs,
  retryWhileStarting,
  withRetries,
  type RetryPolicy,
} from '../src/worker/retry.js';

const policy: RetryPolicy = { maxAttempts: 4, retryBaseMs: 100, retryMaxMs: 350 };
const running = { attempt: 1, maxAttempts: 4, running: true, aborted: false };

describe('the retry policy', () => {
  it('classifies by the retryable flag: terminal errors never retry, unknown errors are presumed to pass later', () => {
    expect(isRetryable(new TerminalHandlerError('x'))).toBe(false);
    expect(isRetryable(new EventValidationError('bad', []))).toBe(false);
    expect(isRetryable(new RetryableHandlerError('x'))).toBe(true);
    expect(isRetryable(new RegistryUnavailableError('down'))).toBe(true);
    expect(isRetryable(new Error('boom'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(errorCodeOf(new TerminalHandlerError('x'))).toBe('WARDEN_RUNTIME_HANDLER_TERMINAL');
    expect(errorCodeOf(new Error('boom'))).toBe('WARDEN_RUNTIME_UNCLASSIFIED');
  });

  it('dead-letters a terminal error at once, retries a retryable one while attempts last, then dead-letters it', () => {
    expect(failureOutcome(new TerminalHandlerError('x'), running)).toBe('dead-letter');
    expect(failureOutcome(new Error('boom'), running)).toBe('retry');
    expect(failureOutcome(new Error('boom'), { ...running, attempt: 3 })).toBe('retry');
    expect(failureOutcome(new Error('boom'), { ...running, attempt: 4 })).toBe('dead-letter');
    expect(failureOutcome(new Error('boom'), { ...running, maxAttempts: 1 })).toBe('dead-letter');
  });

  it('releases a retryable failure uncommitted while draining, and anything once aborted; a terminal one still DLQs when draining', () => {
    expect(failureOutcome(new Error('boom'), { ...running, running: false })).toBe('release');
    expect(failureOutcome(new Error('boom'), { ...running, attempt: 4, running: false })).toBe('release');
    expect(failureOutcome(new TerminalHandlerError('x'), { ...running, running: false })).toBe('dead-letter');
    expect(failureOutcome(new TerminalHandlerError('x'), { ...running, aborted: true })).toBe('release');
    expect(failureOutcome(new ShutdownTimeoutError('x'), { ...running, aborted: true })).toBe('release');
  });

  it('backs off exponentially from retryBaseMs, randomised between 1x and 2x, capped at retryMaxMs', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(n, policy, 0))).toEqual([100, 200, 350]);
    expect([1, 2].map((n) => retryDelayMs(n, policy, 0.999))).toEqual([200, 350]);
    expect(retryDelayMs(1, policy, 0.5)).toBe(150);
  });

  it('runs until success, counting attempts and reporting each failure with the attempts left', async () => {
    const failures: Array<[number, number]> = [];
    const result = await withRetries(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return `ok on ${attempt}`;
      },
      {
        policy: { ...policy, retryBaseMs: 1, retryMaxMs: 1 },
        signal: new AbortController().signal,
        running: () => true,
        onFailure: (_e, attempt, left) => void failures.push([attempt, left]),
      },
    );
    expect(result).toEqual({ ok: true, value: 'ok on 3', attempts: 3 });
    expect(failures).toEqual([
      [1, 3],
      [2, 2],
    ]);
  });

  it('gives up with the outcome: dead-letter after the last attempt, at once for a terminal error', async () => {
    const options = {
      policy: { ...policy, retryBaseMs: 1, retryMaxMs: 1 },
      signal: new AbortController().signal,
      running: () => true,
    };
    let calls = 0;
    const spent = await withRetries(() => Promise.reject(new Error(`fail ${++calls}`)), options);
    expect(spent).toMatchObject({ ok: false, attempts: 4, outcome: 'dead-letter', error: { message: 'fail 4' } });
    const terminal = await withRetries(() => Promise.reject(new TerminalHandlerError('never')), options);
    expect(terminal).toMatchObject({ ok: false, attempts: 1, outcome: 'dead-letter' });
  });

  it('stops retrying once the worker drains: the failure is released', async () => {
    let run = true;
    const result = await withRetries(
      () => {
        run = false;
        return Promise.reject(new Error('busy'));
      },
      { policy, signal: new AbortController().signal, running: () => run },
    );
    expect(result).toMatchObject({ ok: false, attempts: 1, outcome: 'release' });
  });

  it("cuts a backoff short when the worker's signal fires, rejecting with its reason", async () => {
    const abort = new AbortController();
    const pending = withRetries(() => Promise.reject(new Error('busy')), {
      policy: { maxAttempts: 3, retryBaseMs: 60_000, retryMaxMs: 60_000 },
      signal: abort.signal,
      running: () => true,
      // fires once the wait has begun
      onFailure: () => queueMicrotask(() => abort.abort(new ShutdownTimeoutError('shutdown grace period expired'))),
    });
    await expect(pending).rejects.toBeInstanceOf(ShutdownTimeoutError);
  });
});

describe("a step of a worker's start", () => {
  const policy = { retryBaseMs: 1, retryMaxMs: 5 };
  /** A kafkajs timeout, as kafkajs throws it (by name: kafkajs exports no error types). */
  const metadataTimeout = () =>
    Object.assign(new Error('Request Metadata(key: 3, version: 6) timed out'), {
      name: 'KafkaJSRequestTimeoutError',
      retriable: true,
    });
  const silent = pino({ level: 'silent' });

  it('is tried again while a dependency does not answer, and succeeds once it does', async () => {
    let calls = 0;
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const value = await retryWhileStarting(
      'connect the producer',
      () => (++calls < 3 ? Promise.reject(metadataTimeout()) : Promise.resolve('up')),
      { deadlineMs: Date.now() + 10_000, policy, logger, signal: new AbortController().signal },
    );
    expect(value).toBe('up');
    expect(calls).toBe(3);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({ step: 'connect the producer', dependency: 'kafka', attempt: 1 });
  });

  it('fails at once on an error that is not an outage, and at the deadline on one that is', async () => {
    let calls = 0;
    const options = { deadlineMs: Date.now() + 10_000, policy, logger: silent, signal: new AbortController().signal };
    await expect(
      retryWhileStarting('register the schemas', () => (calls++, Promise.reject(new Error('bad schema'))), options),
    ).rejects.toThrow('bad schema');
    expect(calls).toBe(1);
    let now = 0;
    calls = 0;
    await expect(
      retryWhileStarting(
        'create the topics',
        () => {
          calls++;
          now += 1_000; // each try takes a second of the 2.5 s allowed
          return Promise.reject(metadataTimeout());
        },
        { ...options, deadlineMs: 2_500, now: () => now },
      ),
    ).rejects.toThrow(/timed out/);
    expect(calls).toBe(3);
  });

  it('gives up when the start is aborted (the worker is closed while starting)', async () => {
    const abort = new AbortController();
    const run = retryWhileStarting('connect the consumer', () => Promise.reject(metadataTimeout()), {
      deadlineMs: Date.now() + 60_000,
      policy: { retryBaseMs: 1_000, retryMaxMs: 1_000 },
      logger: silent,
      signal: abort.signal,
    });
    abort.abort(new Error('closed'));
    await expect(run).rejects.toThrow();
  });
});
