import {
  canonicalHash,
  isEventType,
  outOfChainEventTypes,
  terminalEventTypes,
  verifyChain,
  type ChainVerdict,
  type WireEnvelope,
} from '@warden/contracts';
import { checkpointSignatureValid, type Checkpoint } from '../checkpoints/checkpoint.js';

/** Why a task's record is not whole. */
export type CompletenessProblem =
  | { readonly kind: 'no_terminal_event'; readonly detail: string }
  | {
      readonly kind: 'truncated';
      readonly detail: string;
      readonly expectedCount: number;
      readonly actualCount: number;
      readonly expectedHead: { readonly seq: number; readonly hash: string } | null;
    }
  | { readonly kind: 'checkpoint_invalid'; readonly detail: string };

/** The full audit of one task: its chain, and whether the record is whole. */
export interface TaskAudit {
  readonly taskId: string;
  /** broken: the chain has a break; incomplete: intact but not whole; complete: intact, ended, matches checkpoints. */
  readonly status: 'complete' | 'incomplete' | 'broken';
  readonly chain: ChainVerdict;
  readonly problems: readonly CompletenessProblem[];
  readonly checkpoint: { readonly count: number; readonly at: string } | null;
}

/**
 * Verifies a task on demand from its wire envelopes (any order): the hash chain (verifyChain), a terminal event,
 * and, given the auditor's latest signed checkpoint, that no trailing event has gone since (count and head hash).
 * A chain alone cannot show that its last events were cut off; the checkpoint can.
 */
export function auditTask(
  taskId: string,
  envelopes: readonly WireEnvelope[],
  checkpoint: Checkpoint | null,
  checkpointKey: string,
): TaskAudit {
  const chain = verifyChain(envelopes, taskId);
  const problems: CompletenessProblem[] = [];
  const inChain = envelopes.filter((e) => !(isEventType(e.type) && outOfChainEventTypes.has(e.type)));
  if (!inChain.some((e) => isEventType(e.type) && terminalEventTypes.has(e.type))) {
    problems.push({
      kind: 'no_terminal_event',
      detail: `task ${taskId} has no TaskCompleted, TaskFailed or TaskHalted`,
    });
  }
  let cp: TaskAudit['checkpoint'] = null;
  if (checkpoint !== null) {
    if (!checkpointSignatureValid(checkpoint, checkpointKey) || checkpoint.taskId !== taskId) {
      problems.push({
        kind: 'checkpoint_invalid',
        detail: `the latest checkpoint of ${taskId} is not signed by this auditor's key`,
      });
    } else {
      cp = { count: checkpoint.count, at: checkpoint.at };
      const hashes = new Set(inChain.map((e) => canonicalHash(e)));
      const ids = new Set(inChain.map((e) => e.id));
      const headGone = checkpoint.head !== null && !hashes.has(checkpoint.head.hash);
      if (ids.size < checkpoint.count || headGone) {
        problems.push({
          kind: 'truncated',
          detail: `checkpoint of ${checkpoint.at} recorded ${checkpoint.count} events up to seq ${checkpoint.head?.seq ?? '-'} (${checkpoint.head?.hash.slice(0, 12) ?? '-'}); the log now holds ${ids.size}${headGone ? ' and not that head' : ''}`,
          expectedCount: checkpoint.count,
          actualCount: ids.size,
          expectedHead: checkpoint.head,
        });
      }
    }
  }
  const status = !chain.ok ? 'broken' : problems.length > 0 ? 'incomplete' : 'complete';
  return { taskId, status, chain, problems, checkpoint: cp };
}
