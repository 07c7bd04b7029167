import { LifecycleError, WorkerLifecycle, WorkerStates, WorkerTransitions, type WorkerState } from '@warden/runtime';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

/** A lifecycle whose log lines are kept. */
function captured(): { lifecycle: WorkerLifecycle; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lifecycle: new WorkerLifecycle('echo', logger), lines };
}

const states = Object.values(WorkerStates);

describe('a worker lifecycle', () => {
  it('starts created and moves created → starting → running → draining → stopped, logging each move', () => {
    const { lifecycle, lines } = captured();
    expect(lifecycle.state).toBe('created');
    lifecycle.moveTo(WorkerStates.starting);
    lifecycle.moveTo(WorkerStates.running, { groupId: 'g' });
    lifecycle.moveTo(WorkerStates.draining, { inFlight: 2 });
    lifecycle.moveTo(WorkerStates.stopped);
    expect(lifecycle.state).toBe('stopped');
    expect(lines.map((l) => [l.from, l.to, l.msg])).toEqual([
      ['created', 'starting', 'echo starting'],
      ['starting', 'running', 'echo running'],
      ['running', 'draining', 'echo draining'],
      ['draining', 'stopped', 'echo stopped'],
    ]);
    expect(lines[1]).toMatchObject({ worker: 'echo', groupId: 'g', level: 30 });
    expect(lines[2]).toMatchObject({ inFlight: 2 });
  });

  it('logs a move to failed as an error', () => {
    const { lifecycle, lines } = captured();
    lifecycle.moveTo(WorkerStates.starting);
    lifecycle.moveTo(WorkerStates.failed, { err: new Error('no broker') });
    expect(lines.at(-1)).toMatchObject({ from: 'starting', to: 'failed', level: 50, err: { message: 'no broker' } });
  });

  it.each(states.flatMap((from) => states.map((to) => [from, to] as const)))(
    'from %s to %s: allowed exactly when WorkerTransitions lists it',
    (from, to) => {
      const { lifecycle, lines } = captured();
      const path: Record<WorkerState, WorkerState[]> = {
        created: [],
        starting: ['starting'],
        running: ['starting', 'running'],
        draining: ['starting', 'running', 'draining'],
        stopped: ['stopped'],
        failed: ['starting', 'failed'],
      };
      for (const s of path[from]) lifecycle.moveTo(s);
      const logged = lines.length;
      const allowed = WorkerTransitions[from].includes(to);
      if (allowed) {
        expect(lifecycle.tryMoveTo(to)).toBe(true);
        expect(lifecycle.state).toBe(to);
        expect(lines).toHaveLength(logged + 1);
      } else {
        expect(() => lifecycle.moveTo(to)).toThrow(LifecycleError);
        expect(lifecycle.tryMoveTo(to)).toBe(false);
        expect(lifecycle.state).toBe(from);
        expect(lines).toHaveLength(logged);
      }
    },
  );

  it('has final states stopped and failed, and a way to every state from created', () => {
    expect(WorkerTransitions.stopped).toEqual([]);
    expect(WorkerTransitions.failed).toEqual([]);
    const reached = new Set<WorkerState>(['created']);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of [...reached]) for (const t of WorkerTransitions[s]) if (!reached.has(t)) grew = !!reached.add(t);
    }
    expect([...reached].sort()).toEqual([...states].sort());
  });

  it('names the refused move in the LifecycleError', () => {
    const { lifecycle } = captured();
    let error: unknown;
    try {
      lifecycle.moveTo(WorkerStates.running);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).details).toEqual({ worker: 'echo', from: 'created', to: 'running' });
  });
});
