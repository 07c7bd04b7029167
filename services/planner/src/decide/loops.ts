import type { ActionRecord, LoopSettings } from './types.js';

/** A loop found in a task's action history. */
export interface LoopFinding {
  readonly kind: 'repeated_failure' | 'repeated_success' | 'oscillation' | 'no_progress';
  readonly tool?: string;
  readonly argsHash?: string;
  readonly count: number;
  readonly message: string;
}

const signature = (r: ActionRecord): string => `${r.tool}#${r.argsHash}`;

function oscillation(history: readonly ActionRecord[], cycles: number): LoopFinding | null {
  for (const period of [2, 3]) {
    const span = period * cycles;
    if (history.length < span) continue;
    const tail = history.slice(-span).map(signature);
    if (new Set(tail.slice(0, period)).size !== period) continue;
    if (tail.every((s, i) => s === tail[i % period])) {
      return {
        kind: 'oscillation',
        count: cycles,
        message: `the task alternates between ${period} calls (${tail.slice(0, period).join(' , ')}) ${cycles} times`,
      };
    }
  }
  return null;
}

/**
 * Looks for a loop ending at the last record of the history. Pure. In order: the same (tool, argsHash) failing or
 * refused again; the same successful call with the same result repeated; an oscillation between 2 or 3 calls; K results in
 * a row that bring no new information (a result, or an error, seen before).
 */
export function detectLoop(history: readonly ActionRecord[], settings: LoopSettings): LoopFinding | null {
  const last = history.at(-1);
  if (last === undefined) return null;
  const same = history.filter((r) => signature(r) === signature(last));
  if (last.outcome !== 'succeeded') {
    // A call that failed, or was refused by the guard or a person, and is proposed again with the same arguments
    // is the same loop: refusals count as failures do.
    const failures = same.filter((r) => r.outcome !== 'succeeded');
    if (failures.length >= settings.maxRepeatedFailures) {
      const refused = failures.filter((r) => r.outcome === 'rejected' || r.outcome === 'denied').length;
      const how =
        refused === failures.length
          ? `was refused ${refused} times`
          : refused === 0
            ? `failed ${failures.length} times`
            : `failed or was refused ${failures.length} times (${refused} refused)`;
      return {
        kind: 'repeated_failure',
        tool: last.tool,
        argsHash: last.argsHash,
        count: failures.length,
        message: `${last.tool} ${how} with the same arguments`,
      };
    }
  }
  if (last.outcome === 'succeeded') {
    const repeats = same.filter((r) => r.outcome === 'succeeded' && r.resultHash === last.resultHash).length;
    if (repeats >= settings.maxRepeatedSuccesses) {
      return {
        kind: 'repeated_success',
        tool: last.tool,
        argsHash: last.argsHash,
        count: repeats,
        message: `${last.tool} ran ${repeats} times with the same arguments and the same result`,
      };
    }
  }
  const osc = oscillation(history, settings.oscillationCycles);
  if (osc !== null) return osc;
  let stale = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const seenBefore = history.slice(0, i).some((r) => r.resultHash === history[i]!.resultHash);
    if (!seenBefore) break;
    stale++;
  }
  if (stale >= settings.maxStepsWithoutNewInfo) {
    return { kind: 'no_progress', count: stale, message: `${stale} steps in a row brought no new information` };
  }
  return null;
}
