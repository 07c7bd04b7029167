import { canonicalHash } from './canonical.js';
import type { WireEnvelope } from './envelope.js';
import { isEventType, outOfChainEventTypes } from './events.js';

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

interface Node {
  readonly env: WireEnvelope;
  readonly hash: string;
}

/**
 * Verifies a task's hash chain from its events in whatever order they were read. Exact duplicates (the same event
 * delivered twice) are not breaks. Reports ok with the head, or every break found and the first one by seq.
 * Events outside the chain (DeadLettered) are ignored.
 */
export function verifyChain(events: Iterable<WireEnvelope>, expectedTaskId?: string): ChainVerdict {
  const breaks: ChainBreak[] = [];
  const byId = new Map<string, Node>();
  let taskId = expectedTaskId;
  for (const env of events) {
    if (isEventType(env.type) && outOfChainEventTypes.has(env.type)) continue;
    taskId ??= env.taskId;
    if (env.taskId !== taskId) {
      breaks.push({ kind: 'foreign', eventId: env.id, seq: env.seq, detail: `event belongs to task ${env.taskId}` });
      continue;
    }
    const node: Node = { env, hash: canonicalHash(env) };
    const seen = byId.get(env.id);
    if (seen === undefined) byId.set(env.id, node);
    else if (seen.hash !== node.hash) {
      breaks.push({
        kind: 'conflicting_id',
        eventId: env.id,
        seq: Math.min(seen.env.seq, env.seq),
        detail: `two different events carry id ${env.id} (hashes ${seen.hash.slice(0, 12)} and ${node.hash.slice(0, 12)})`,
      });
    }
  }
  const nodes = [...byId.values()].sort((a, b) => a.env.seq - b.env.seq);
  const byHash = new Map(nodes.map((n) => [n.hash, n]));
  const bySeq = new Map<number, Node[]>();
  for (const n of nodes) bySeq.set(n.env.seq, [...(bySeq.get(n.env.seq) ?? []), n]);

  for (const [seq, atSeq] of bySeq) {
    if (atSeq.length > 1) {
      const ids = atSeq.map((n) => n.env.id).join(', ');
      breaks.push({ kind: 'forked', eventId: atSeq[1]!.env.id, seq, detail: `events ${ids} all claim seq ${seq}` });
    }
  }
  const maxSeq = nodes.at(-1)?.env.seq ?? -1;
  for (let s = 0; s <= maxSeq; s++) {
    if (!bySeq.has(s)) breaks.push({ kind: 'missing', eventId: '', seq: s, detail: `no event at seq ${s}` });
  }

  for (const { env } of nodes) {
    if (env.seq === 0) {
      if (env.prevHashes.length > 0 || env.type !== 'TaskSubmitted') {
        breaks.push({
          kind: 'reordered',
          eventId: env.id,
          seq: 0,
          detail: `seq 0 must be TaskSubmitted with no prevHashes, got ${env.type}`,
        });
      }
      continue;
    }
    if (env.prevHashes.length === 0) {
      breaks.push({
        kind: 'altered',
        eventId: env.id,
        seq: env.seq,
        detail: `${env.type} at seq ${env.seq} names no cause`,
      });
      continue;
    }
    let maxPrevSeq = -1;
    for (const prevHash of env.prevHashes) {
      const prev = byHash.get(prevHash);
      if (prev !== undefined) {
        maxPrevSeq = Math.max(maxPrevSeq, prev.env.seq);
        continue;
      }
      const cause = env.causationId === null ? undefined : byId.get(env.causationId);
      if (cause !== undefined) {
        breaks.push({
          kind: 'altered',
          eventId: cause.env.id,
          seq: cause.env.seq,
          detail: `${cause.env.type} ${cause.env.id} at seq ${cause.env.seq} hashes to ${cause.hash.slice(0, 12)}, but ${env.type} at seq ${env.seq} recorded ${prevHash.slice(0, 12)}`,
        });
      } else {
        breaks.push({
          kind: 'missing',
          eventId: env.causationId ?? '',
          seq: env.seq - 1,
          detail: `${env.type} at seq ${env.seq} names cause ${env.causationId ?? '(none)'} with hash ${prevHash.slice(0, 12)}, which is not in the log`,
        });
      }
    }
    if (maxPrevSeq >= 0 && env.seq !== maxPrevSeq + 1) {
      breaks.push({
        kind: 'reordered',
        eventId: env.id,
        seq: env.seq,
        detail: `${env.type} claims seq ${env.seq} but its cause is at seq ${maxPrevSeq}`,
      });
    }
  }

  const resolvedTaskId = taskId ?? '';
  if (breaks.length === 0) {
    const last = nodes.at(-1);
    return {
      ok: true,
      taskId: resolvedTaskId,
      count: nodes.length,
      head: last === undefined ? null : { seq: last.env.seq, hash: last.hash },
    };
  }
  const order: Record<ChainBreakKind, number> = {
    conflicting_id: 0,
    altered: 1,
    missing: 2,
    reordered: 3,
    forked: 4,
    foreign: 5,
  };
  breaks.sort((a, b) => a.seq - b.seq || order[a.kind] - order[b.kind]);
  return { ok: false, taskId: resolvedTaskId, firstBreak: breaks[0]!, breaks };
}
