import type { WireEnvelope } from './envelope.js';
import type { ChainBreak, ChainBreakKind } from './verify.js';

/** The chain state of a task as far as its events have been read. */
export type ChainStatus = 'ok' | 'pending' | 'broken';

/** A summary of a task's chain (what the auditor projects). */
export interface ChainState {
  readonly status: ChainStatus;
  /** Distinct in-chain events read. */
  readonly count: number;
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** Links whose cause has not been read yet (may arrive from another topic). */
  readonly pendingLinks: number;
  /** Seq positions below the head with no event yet. */
  readonly gaps: number;
  /** Every break found, ordered by seq then kind (the first one first). */
  readonly breaks: readonly ChainBreak[];
}

interface NodeInfo {
  readonly id: string;
  readonly hash: string;
  readonly seq: number;
  readonly type: string;
}

/** An event's links to its causes (its prevHashes), and how far they are resolved. */
interface Links {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly causationId: string | null;
  readonly prevHashes: readonly string[];
  /** Links not decided yet (neither found by hash nor found altered). */
  open: number;
  /** The highest seq among the causes found by hash, -1 while none is. */
  maxCauseSeq: number;
}

/** One link still waiting for its cause. */
interface Waiting {
  readonly links: Links;
  readonly prevHash: string;
}

const kindOrder: Record<ChainBreakKind, number> = {
  conflicting_id: 0,
  altered: 1,
  missing: 2,
  reordered: 3,
  forked: 4,
  foreign: 5,
  unverified_producer: 6,
};

const short = (hash: string): string => hash.slice(0, 12);

/**
 * Verification of one task's hash chain as its events arrive, in any order (a task's events travel on several
 * topics, so a cause may be read after its effect): the one implementation of the chain rules, which verifyChain
 * runs over a whole list. Each event is checked once, against its hash (the codec computes it on decode), so a
 * 10,000-step task costs O(n) in all. Breaks that the events read so far prove (altered, reordered, forked,
 * conflicting ids) are reported at once; a cause that is still absent is only "pending" until settle() declares it
 * missing. An event's seq must follow the highest seq among its causes (a join of parallel steps has several).
 */
export class TaskChain {
  private readonly byId = new Map<string, NodeInfo>();
  private readonly byHash = new Map<string, NodeInfo>();
  private readonly bySeq = new Map<number, string[]>();
  private readonly waitingByHash = new Map<string, Waiting[]>();
  private readonly waitingByCause = new Map<string, Waiting[]>();
  private readonly found = new Map<string, ChainBreak>();
  private maxSeq = -1;

  constructor(readonly taskId: string) {}

  /** Adds one in-chain event with its wire hash; returns the breaks this event revealed (new ones only). */
  add(env: WireEnvelope, hash: string): ChainBreak[] {
    const fresh: ChainBreak[] = [];
    const report = (b: ChainBreak, key = `${b.kind}|${b.seq}|${b.eventId}`): void => {
      if (!this.found.has(key)) fresh.push(b);
      this.found.set(key, b);
    };
    if (env.taskId !== this.taskId) {
      report({ kind: 'foreign', eventId: env.id, seq: env.seq, detail: `event belongs to task ${env.taskId}` });
      return fresh;
    }
    const seen = this.byId.get(env.id);
    if (seen !== undefined) {
      if (seen.hash !== hash) {
        report({
          kind: 'conflicting_id',
          eventId: env.id,
          seq: Math.min(seen.seq, env.seq),
          detail: `two different events carry id ${env.id} (hashes ${short(seen.hash)} and ${short(hash)})`,
        });
      }
      return fresh; // an exact duplicate (redelivery, double publish) is not a break
    }
    const node: NodeInfo = { id: env.id, hash, seq: env.seq, type: env.type };
    this.byId.set(env.id, node);
    this.byHash.set(hash, node);
    this.maxSeq = Math.max(this.maxSeq, env.seq);
    const atSeq = [...(this.bySeq.get(env.seq) ?? []), env.id].sort();
    this.bySeq.set(env.seq, atSeq);
    if (atSeq.length > 1) {
      report(
        {
          kind: 'forked',
          eventId: atSeq[1]!,
          seq: env.seq,
          detail: `events ${atSeq.join(', ')} all claim seq ${env.seq}`,
        },
        `forked|${env.seq}`,
      );
    }

    // This event's own links.
    if (env.seq === 0) {
      if (env.prevHashes.length > 0 || env.type !== 'TaskSubmitted') {
        report({
          kind: 'reordered',
          eventId: env.id,
          seq: 0,
          detail: `seq 0 must be TaskSubmitted with no prevHashes, got ${env.type}`,
        });
      }
    } else if (env.prevHashes.length === 0) {
      report({
        kind: 'altered',
        eventId: env.id,
        seq: env.seq,
        detail: `${env.type} at seq ${env.seq} names no cause`,
      });
    } else {
      const links: Links = {
        id: env.id,
        seq: env.seq,
        type: env.type,
        causationId: env.causationId,
        prevHashes: env.prevHashes,
        open: env.prevHashes.length,
        maxCauseSeq: -1,
      };
      for (const prevHash of env.prevHashes) {
        const w: Waiting = { links, prevHash };
        const cause = this.byHash.get(prevHash);
        if (cause !== undefined) {
          this.resolved(w, cause, report);
          continue;
        }
        const byCause = env.causationId === null ? undefined : this.byId.get(env.causationId);
        if (byCause !== undefined && !env.prevHashes.includes(byCause.hash)) {
          this.altered(byCause, w, report);
          continue;
        }
        this.push(this.waitingByHash, prevHash, w);
        if (env.causationId !== null) this.push(this.waitingByCause, env.causationId, w);
      }
    }

    // Effects read earlier that were waiting for this event.
    const waitingOnHash = this.waitingByHash.get(hash) ?? [];
    this.waitingByHash.delete(hash);
    for (const w of waitingOnHash) {
      this.resolved(w, node, report);
      this.unlinkCause(w);
    }
    const waitingOnId = this.waitingByCause.get(env.id) ?? [];
    this.waitingByCause.delete(env.id);
    for (const w of waitingOnId) {
      // The named cause is here but hashes to none of the effect's links: it was altered. (A join's other links
      // wait for their own causes.)
      if (w.links.prevHashes.includes(hash)) continue;
      this.altered(node, w, report);
      this.unlinkHash(w);
    }
    return fresh;
  }

  /**
   * Declares every cause still absent, and every seq position below the head still empty, missing (call when the
   * log has been read up to a point where the causes must have arrived). Returns the new breaks.
   */
  settle(): ChainBreak[] {
    const fresh: ChainBreak[] = [];
    const report = (b: ChainBreak): void => {
      const key = `${b.kind}|${b.seq}|${b.eventId}`;
      if (!this.found.has(key)) fresh.push(b);
      this.found.set(key, b);
    };
    for (const list of this.waitingByHash.values()) {
      for (const { links, prevHash } of list) {
        report({
          kind: 'missing',
          eventId: links.causationId ?? '',
          seq: links.seq - 1,
          detail: `${links.type} at seq ${links.seq} names cause ${links.causationId ?? '(none)'} with hash ${short(prevHash)}, which is not in the log`,
        });
        this.checkOrder(links, report); // against the causes that are here
      }
    }
    let gapsReported = 0;
    for (let s = 0; s <= this.maxSeq && gapsReported < 100; s++) {
      if (!this.bySeq.has(s)) {
        report({ kind: 'missing', eventId: '', seq: s, detail: `no event at seq ${s}` });
        gapsReported++;
      }
    }
    return fresh;
  }

  /** True when something is still awaited (a cause or a seq position). */
  isPending(): boolean {
    return this.waitingByHash.size > 0 || this.bySeq.size !== this.maxSeq + 1;
  }

  /** The chain's state now. */
  state(): ChainState {
    const breaks = [...this.found.values()].sort(
      (a, b) => a.seq - b.seq || kindOrder[a.kind] - kindOrder[b.kind] || a.eventId.localeCompare(b.eventId),
    );
    let pendingLinks = 0;
    for (const list of this.waitingByHash.values()) pendingLinks += list.length;
    const headIds = this.bySeq.get(this.maxSeq);
    const headNode = headIds?.length === 1 ? this.byId.get(headIds[0]!) : undefined;
    const gaps = this.maxSeq + 1 - this.bySeq.size;
    return {
      status: breaks.length > 0 ? 'broken' : pendingLinks > 0 || gaps > 0 ? 'pending' : 'ok',
      count: this.byId.size,
      head: headNode === undefined ? null : { seq: headNode.seq, hash: headNode.hash },
      pendingLinks,
      gaps,
      breaks,
    };
  }

  /** A link's cause was found by its hash; once every link is decided, the event's seq is checked. */
  private resolved(w: Waiting, cause: NodeInfo, report: (b: ChainBreak) => void): void {
    w.links.maxCauseSeq = Math.max(w.links.maxCauseSeq, cause.seq);
    if (--w.links.open === 0) this.checkOrder(w.links, report);
  }

  /** A link names a cause (by causationId) whose content no longer hashes to what the link recorded. */
  private altered(cause: NodeInfo, w: Waiting, report: (b: ChainBreak) => void): void {
    const { links } = w;
    report({
      kind: 'altered',
      eventId: cause.id,
      seq: cause.seq,
      detail: `${cause.type} ${cause.id} at seq ${cause.seq} hashes to ${short(cause.hash)}, but ${links.type} at seq ${links.seq} recorded ${short(w.prevHash)}`,
    });
    if (--links.open === 0) this.checkOrder(links, report);
  }

  /** An event's seq must be one more than the highest seq among its causes found so far. */
  private checkOrder(links: Links, report: (b: ChainBreak) => void): void {
    if (links.maxCauseSeq >= 0 && links.seq !== links.maxCauseSeq + 1) {
      report({
        kind: 'reordered',
        eventId: links.id,
        seq: links.seq,
        detail: `${links.type} claims seq ${links.seq} but its cause is at seq ${links.maxCauseSeq}`,
      });
    }
  }

  private push(map: Map<string, Waiting[]>, key: string, w: Waiting): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [w]);
    else list.push(w);
  }

  private unlinkCause(w: Waiting): void {
    const causationId = w.links.causationId;
    if (causationId === null) return;
    const list = this.waitingByCause.get(causationId);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length === 0) this.waitingByCause.delete(causationId);
    else this.waitingByCause.set(causationId, rest);
  }

  private unlinkHash(w: Waiting): void {
    const list = this.waitingByHash.get(w.prevHash);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length === 0) this.waitingByHash.delete(w.prevHash);
    else this.waitingByHash.set(w.prevHash, rest);
  }
}
