import { canonicalHash } from './canonical.js';
import type { WireEnvelope } from './envelope.js';
import { isEventType, outOfChainEventTypes } from './events.js';
import { TaskChain } from './task-chain.js';

/** Kinds of break in a task's hash chain. */
export const ChainBreakKinds = {
  /** An event's content no longer matches the hash its successor recorded. */
  altered: 'altered',
  /** An event the chain refers to (or a seq position) is absent. */
  missing: 'missing',
  /** An event's seq contradicts its causes' seq (it claims a place before or far after its cause). */
  reordered: 'reordered',
  /** Two different events carry one id. */
  conflictingId: 'conflicting_id',
  /** Two different events claim the same seq. */
  forked: 'forked',
  /** An event of another task was mixed in. */
  foreign: 'foreign',
  /**
   * An event no trusted producer allowed to emit its type signed (unsigned, an unknown key, a signature that does
   * not match its content): appended or rewritten by someone else (ADR 0018).
   */
  unverifiedProducer: 'unverified_producer',
} as const;
export type ChainBreakKind = (typeof ChainBreakKinds)[keyof typeof ChainBreakKinds];

/** One broken link: what kind, where, and why. */
export interface ChainBreak {
  readonly kind: ChainBreakKind;
  /** The event at fault (or the one whose link points nowhere). */
  readonly eventId: string;
  /** The seq where the break is. */
  readonly seq: number;
  readonly detail: string;
}

/** The result of verifying one task's chain. */
export type ChainVerdict =
  | {
      readonly ok: true;
      readonly taskId: string;
      readonly count: number;
      readonly head: { seq: number; hash: string } | null;
    }
  | {
      readonly ok: false;
      readonly taskId: string;
      readonly firstBreak: ChainBreak;
      readonly breaks: readonly ChainBreak[];
    };

/**
 * Verifies a task's hash chain from its events in whatever order they were read: every event through one TaskChain
 * (the incremental verifier the auditor keeps per task), then every cause still absent declared missing. Exact
 * duplicates (the same event delivered twice) are not breaks. Reports ok with the head, or every break found and
 * the first one by seq. Events outside the chain (DeadLettered) are ignored.
 */
export function verifyChain(events: Iterable<WireEnvelope>, expectedTaskId?: string): ChainVerdict {
  let chain = expectedTaskId === undefined ? undefined : new TaskChain(expectedTaskId);
  for (const env of events) {
    if (isEventType(env.type) && outOfChainEventTypes.has(env.type)) continue;
    chain ??= new TaskChain(env.taskId);
    chain.add(env, canonicalHash(env));
  }
  if (chain === undefined) return { ok: true, taskId: '', count: 0, head: null };
  chain.settle();
  const state = chain.state();
  if (state.breaks.length === 0) return { ok: true, taskId: chain.taskId, count: state.count, head: state.head };
  return { ok: false, taskId: chain.taskId, firstBreak: state.breaks[0]!, breaks: state.breaks };
}
