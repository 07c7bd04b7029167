import type { EventData } from '@warden/contracts';
import type { TaskState } from './types.js';

type PartialResult = EventData<'TaskHalted'>['partial'];

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 3)}...`);

/**
 * The partial result of a task that stops early: what was done (successful actions), what was not (failed,
 * rejected or denied actions, the proposal and the calls still waiting, and the goal itself), and why. Pure; its
 * strings fit the contract's limits, so the event validates.
 */
export function partialResult(state: TaskState, why: string): PartialResult {
  const done = state.history.filter((r) => r.outcome === 'succeeded').map((r) => clip(r.note, 2000));
  const notDone = state.history.filter((r) => r.outcome !== 'succeeded').map((r) => clip(r.note, 2000));
  if (state.pending !== null) {
    notDone.push(
      clip(
        state.pending.kind === 'action'
          ? `${state.pending.tool} was proposed but has no result`
          : 'the answer was proposed but not approved',
        2000,
      ),
    );
  }
  for (const call of state.queue) notDone.push(clip(`${call.name} was planned but not proposed`, 2000));
  notDone.push(clip(`the goal was not reached: ${state.goal}`, 2000));
  const lastSuccess = state.history.filter((r) => r.outcome === 'succeeded').at(-1);
  return {
    done: done.slice(-200),
    notDone: notDone.slice(-200),
    why: clip(why, 4000),
    ...(lastSuccess === undefined ? {} : { lastOutput: clip(lastSuccess.note, 2000) }),
  };
}

/** The totals every end event carries. */
export function totalsOf(state: TaskState): EventData<'TaskCompleted'>['totals'] {
  return { steps: state.steps, usage: { ...state.totals.usage }, costUsd: state.totals.costUsd };
}
