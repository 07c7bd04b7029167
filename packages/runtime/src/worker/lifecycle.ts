import type { Logger } from 'pino';
import { LifecycleError } from '../errors.js';

/**
 * The states of a worker. A worker moves forward only, along WorkerTransitions:
 * created → starting → running → draining → stopped, or failed when it cannot go on.
 */
export const WorkerStates = {
  /** Defined, not started: nothing is connected. close() here goes straight to stopped. */
  created: 'created',
  /** start() is connecting, registering schemas, creating topics and joining the consumer group. Live, not ready. */
  starting: 'starting',
  /** Consuming: events are handled and committed. Ready once the consumer has joined its group. */
  running: 'running',
  /**
   * close() was called: no new chunk starts, the chunks in flight finish and commit within the grace period; past
   * it, the worker's abort signal fires (a ShutdownTimeoutError) and the rest is left uncommitted for the next owner.
   */
  draining: 'draining',
  /** Closed after a drain: every connection is closed. Final. */
  stopped: 'stopped',
  /** start() failed, or the consumer crashed for good. close() still closes the connections; the state stays. Final. */
  failed: 'failed',
} as const;

/** A state of a worker (see WorkerStates). */
export type WorkerState = (typeof WorkerStates)[keyof typeof WorkerStates];

/** The moves a worker may make from each state; any other move is refused with a LifecycleError. */
export const WorkerTransitions: { readonly [S in WorkerState]: readonly WorkerState[] } = {
  created: ['starting', 'stopped'],
  starting: ['running', 'draining', 'failed'],
  running: ['draining', 'failed'],
  draining: ['stopped'],
  stopped: [],
  failed: [],
};

/** Whether a worker may move from one state to another. */
export function canMove(from: WorkerState, to: WorkerState): boolean {
  return WorkerTransitions[from].includes(to);
}

/** The state of one worker: every move checked against WorkerTransitions and logged. */
export class WorkerLifecycle {
  private current: WorkerState = WorkerStates.created;

  /**
   * @param worker the worker's name, in every log line
   * @param logger where moves are logged (failed at error, the rest at info)
   */
  constructor(
    private readonly worker: string,
    private readonly logger: Logger,
  ) {}

  /** The current state. */
  get state(): WorkerState {
    return this.current;
  }

  /** Whether the current state is one of `states`. */
  is(...states: readonly WorkerState[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `next` and logs it with `fields`; a move WorkerTransitions does not allow throws a LifecycleError. */
  moveTo(next: WorkerState, fields: Readonly<Record<string, unknown>> = {}): void {
    if (!this.tryMoveTo(next, fields)) {
      throw new LifecycleError(`${this.worker}: cannot move from ${this.current} to ${next}`, {
        details: { worker: this.worker, from: this.current, to: next },
      });
    }
  }

  /** Moves to `next` if WorkerTransitions allows it, and says whether it moved (for moves that may race a close). */
  tryMoveTo(next: WorkerState, fields: Readonly<Record<string, unknown>> = {}): boolean {
    const from = this.current;
    if (!canMove(from, next)) return false;
    this.current = next;
    const line = { ...fields, worker: this.worker, from, to: next };
    if (next === WorkerStates.failed) this.logger.error(line, `${this.worker} ${next}`);
    else this.logger.info(line, `${this.worker} ${next}`);
    return true;
  }
}
