import { MAX_MESSAGE_CHARS, MAX_NOTE_CHARS, clipText, type EventData } from '@warden/contracts';
import type { TaskState } from './types.js';

type PartialResult = EventData<'TaskHalted'>['partial'];

const note = (text: string): string => clipText(text, MAX_NOTE_CHARS);

/**
 * The partial result of a task that stops early: what was done (successful actions), what was not (failed,
 * rejected or denied actions, the proposal and the calls still waiting, and the goal itself), and why. Pure; its
 * strings fit the contract's limits, so the event validates.
 */
export function partialResult(state: TaskState, why: string): PartialResult {
  const done = state.history.filter((r) => r.outcome === 'succeeded').map((r) => note(r.note));
  const notDone = state.history.filter((r) => r.outcome !== 'succeeded').map((r) => note(r.note));
  if (state.pending !== null) {
    notDone.push(
      note(
        state.pending.kind === 'action'
          ? `${state.pending.tool} was proposed but has no result`
          : 'the answer was proposed but not approved',
      ),
    );
  }
  for (const call of state.queue) notDone.push(note(`${call.name} was planned but not proposed`));
  notDone.push(note(`the goal was not reached: ${state.goal}`));
  const lastSuccess = state.history.filter((r) => r.outcome === 'succeeded').at(-1);
  return {
    done: done.slice(-200),
    notDone: notDone.slice(-200),
    why: clipText(why, MAX_MESSAGE_CHARS),
    ...(lastSuccess === undefined ? {} : { lastOutput: note(lastSuccess.note) }),
  };
}

/** The totals every end event carries. */
export function totalsOf(state: TaskState): EventData<'TaskCompleted'>['totals'] {
  return { steps: state.steps, usage: { ...state.totals.usage }, costUsd: state.totals.costUsd };
}
