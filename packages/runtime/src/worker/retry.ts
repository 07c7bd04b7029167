import { setTimeout as sleep } from 'node:timers/promises';
import { isWardenError } from '@warden/contracts';
import type { Logger } from 'pino';
import { UNCLASSIFIED_ERROR_CODE } from '../errors.js';
import { FailureKinds, dependencyOf, failureKindOf, outageReason } from '../infrastructure.js';

/** How often and how patiently a failed step is tried again (from WARDEN_MAX_ATTEMPTS, _RETRY_BASE_MS, _RETRY_MAX_MS). */
export interface RetryPolicy {
  /** Attempts in all, the first included (1: never retried). */
  readonly maxAttempts: number;
  /** The wait after the first failure, before randomisation. */
  readonly retryBaseMs: number;
  /** The longest wait between two attempts. */
  readonly retryMaxMs: number;
}

/** Whether an error may pass on a later attempt: a WardenError says so itself; any other error is presumed to. */
export function isRetryable(error: unknown): boolean {
  return isWardenError(error) ? error.retryable : true;
}

/** The stable code of an error: a WardenError's own, else UNCLASSIFIED_ERROR_CODE. */
export function errorCodeOf(error: unknown): string {
  return isWardenError(error) ? error.code : UNCLASSIFIED_ERROR_CODE;
}

/**
 * The wait after attempt `failedAttempt` failed: the base doubled for each earlier failure, times a random factor
 * between 1 and 2 (so replicas retrying together spread out), capped at retryMaxMs.
 */
export function retryDelayMs(
  failedAttempt: number,
  policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>,
  random: number = Math.random(),
): number {
  return Math.min(Math.round(policy.retryBaseMs * 2 ** (failedAttempt - 1) * (1 + random)), policy.retryMaxMs);
}

/** What follows a failed attempt. */
export const FailureOutcomes = {
  /** Wait retryDelayMs, then try again. */
  retry: 'retry',
  /** Give up on this event: it goes to the DLQ with its reason. */
  deadLetter: 'dead-letter',
  /** Give up for now, committing nothing: the worker is stopping, and the next owner of the partition tries again. */
  release: 'release',
  /**
   * A dependency is down (an infrastructure failure): the event is fine. Nothing is committed; the partition waits
   * for the dependency with capped backoff, keeping its group session, and the chunk is handled again (ADR 0021).
   */
  waitForDependency: 'wait-for-dependency',
} as const;

/** What follows a failed attempt (see FailureOutcomes). */
export type FailureOutcome = (typeof FailureOutcomes)[keyof typeof FailureOutcomes];

/** Where a failure happened: which attempt, out of how many, and whether the worker is still running. */
export interface FailureCircumstances {
  readonly attempt: number;
  readonly maxAttempts: number;
  /** False once the worker drains: a retryable failure is then left to the next owner, not dead-lettered. */
  readonly running: boolean;
  /** True once the worker's abort signal fired (the grace period is over). */
  readonly aborted: boolean;
}

/**
 * The DLQ rule: an infrastructure failure (a dependency down) is never dead-lettered, whatever the attempt: the
 * partition waits for the dependency. A poison failure (terminal) is dead-lettered at once; a transient one is
 * retried while attempts are left, and dead-lettered when they are spent. A worker that is stopping dead-letters
 * nothing retryable: it releases the event, uncommitted, to the partition's next owner.
 */
export function failureOutcome(error: unknown, at: FailureCircumstances): FailureOutcome {
  if (at.aborted) return FailureOutcomes.release;
  const kind = failureKindOf(error);
  if (kind === FailureKinds.infrastructure) {
    return at.running ? FailureOutcomes.waitForDependency : FailureOutcomes.release;
  }
  if (kind === FailureKinds.poison) return FailureOutcomes.deadLetter;
  if (!at.running) return FailureOutcomes.release;
  return at.attempt < at.maxAttempts ? FailureOutcomes.retry : FailureOutcomes.deadLetter;
}

/** The result of withRetries: the value, or the last error and what to do with it. */
export type Attempted<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly attempts: number;
      readonly outcome: Exclude<FailureOutcome, 'retry'>;
    };

/** Options of withRetries. */
export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Aborts a wait between attempts (the wait then rejects with the signal's reason). */
  readonly signal: AbortSignal;
  /** Whether the worker still runs (see FailureCircumstances.running). */
  readonly running: () => boolean;
  /** Called after each failed attempt, with the attempts left. */
  readonly onFailure?: (error: unknown, attempt: number, attemptsLeft: number) => void;
  /** A number in [0, 1) for the backoff's random factor (tests fix it). */
  readonly random?: () => number;
}

/**
 * Runs `attempt` (1, 2, ...) until it succeeds or failureOutcome says to stop: the one retry policy of the worker,
 * for decoding and for handling alike. Never throws for a failed attempt; a wait cut short by the signal rejects
 * with the signal's reason.
 */
export async function withRetries<T>(
  run: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<Attempted<T>> {
  const { policy, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await run(attempt), attempts: attempt };
    } catch (error) {
      options.onFailure?.(error, attempt, policy.maxAttempts - attempt);
      const outcome = failureOutcome(error, {
        attempt,
        maxAttempts: policy.maxAttempts,
        running: options.running(),
        aborted: signal.aborted,
      });
      if (outcome !== FailureOutcomes.retry) return { ok: false, error, attempts: attempt, outcome };
      await sleep(retryDelayMs(attempt, policy, (options.random ?? Math.random)()), undefined, { signal }).catch(
        (error: unknown) => {
          throw signal.aborted ? signal.reason : error; // the reason itself, not node's AbortError wrapping it
        },
      );
    }
  }
}

/** Options of retryWhileStarting. */
export interface StartRetryOptions {
  /** Epoch ms after which a failure is final. */
  readonly deadlineMs: number;
  readonly policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>;
  readonly logger: Logger;
  /** Aborts a wait (close() during start). */
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

/**
 * Runs one step of a worker's start (a connect, the topics, the schemas), trying it again while it fails because a
 * dependency is down or does not answer (an infrastructure failure: a broker not answering a Metadata request in
 * time, a registry restarting), with the outage backoff, until the deadline. Any other failure, or one past the
 * deadline, is thrown as it is. Each retry is logged with the step and the dependency.
 */
export async function retryWhileStarting<T>(
  step: string,
  run: () => Promise<T>,
  options: StartRetryOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (failureKindOf(error) !== FailureKinds.infrastructure) throw error;
      const waitMs = retryDelayMs(attempt, options.policy);
      if (now() + waitMs > options.deadlineMs || options.signal.aborted) throw error;
      options.logger.warn(
        { step, dependency: dependencyOf(error), reason: outageReason(error), attempt, retryInMs: waitMs },
        `starting: ${step} failed, a dependency is unavailable; trying again`,
      );
      await sleep(waitMs, undefined, { signal: options.signal });
    }
  }
}
