import {
  isBlobRef,
  isEventType,
  outOfChainEventTypes,
  sha256Hex,
  TaskChain,
  type ChainBreak,
  type DecodedEvent,
  type WireEnvelope,
  producerBreak,
  type ProducerKey,
} from '@warden/contracts';
import { DEAD_LETTER_ALERT_TASK_PREFIX } from '@warden/runtime';
import { TaskPoints, type LabelledPoint } from '@warden/calibration';
import type { Checkpoint } from '../checkpoints/checkpoint.js';
import { storedFactsOf, type EventFacts } from './facts.js';
import type { AuditStore, EventDoc, EventSource, TaskDoc } from './store.js';
import { TaskSummaryFold } from './task-summary.js';

/** A break found in a task's chain, to alert on. */
export interface ChainFinding {
  readonly alertId: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly break: ChainBreak;
}

/** A task's chain position, for a checkpoint. */
export interface TaskHead {
  readonly taskId: string;
  readonly tenantId: string;
  readonly count: number;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly terminal: boolean;
}

/** Options of a Projection. */
export interface ProjectionOptions {
  /** A task quiet this long with an absent cause has it declared missing. */
  readonly settleMs: number;
  /** Tasks kept in memory; the least recently moved are reloaded from MongoDB when they move again. */
  readonly maxTasksInMemory: number;
  /** At most this many alerts per task (the first breaks by seq). */
  readonly maxAlertsPerTask?: number;
  readonly now?: () => number;
  /**
   * The producers' public keys (WARDEN_PRODUCER_PUBLIC_KEYS): every event must be signed by a producer allowed to
   * emit its type, or it is reported as an `unverified_producer` break. Empty or absent: producers are not checked.
   */
  readonly producerKeys?: ReadonlyMap<string, ProducerKey>;
  /** Bytes of wire envelopes kept for verification (see liveChain); default DEFAULT_VERIFY_CACHE_BYTES. */
  readonly verifyCacheBytes?: number;
}

/** The wire envelopes kept in memory for verification unless told otherwise: 256 MiB of their JSON. */
export const DEFAULT_VERIFY_CACHE_BYTES = 256 * 1024 * 1024;

/** A task's record as the projection holds it in memory (see Projection.liveChain). */
export interface LiveChain {
  readonly tenantId: string;
  /** Every in-chain and out-of-chain event of the task read so far, one per hash, of the task's tenant. */
  readonly envelopes: readonly WireEnvelope[];
  /** The latest checkpoint this auditor signed for the task since it was loaded (null: none; read the store). */
  readonly checkpoint: Checkpoint | null;
}

interface TaskState {
  readonly taskId: string;
  readonly tenantId: string;
  readonly chain: TaskChain;
  readonly fold: TaskSummaryFold;
  readonly alerts: Set<string>;
  lastMovedMs: number;
  checkpointed: string | null;
  /** The task's labelled points (built as facts arrive), the ones that may have changed, and what was written. */
  readonly points: TaskPoints;
  readonly dirtyPoints: Set<string>;
  readonly pointsWritten: Map<string, string>;
  /**
   * The task's wire envelopes by hash with their JSON's length, while the cache holds all of them; null once dropped
   * for room (then, until the task is reloaded, verification reads MongoDB).
   */
  wires: Map<string, { readonly env: WireEnvelope; readonly bytes: number }> | null;
  /** The latest checkpoint signed for it in this life. */
  lastCheckpoint: Checkpoint | null;
}

/** One decoded event and where it was read. */
export interface ProjectedInput {
  readonly decoded: DecodedEvent;
  readonly source: EventSource;
  /** The producer's signature header (PRODUCER_SIGNATURE_HEADER), when the message carried one. */
  readonly producerSignature?: string;
}

/** The auditor's own findings travel under `audit.<taskId>` and are not tasks. */
export const AUDIT_TASK_PREFIX = 'audit.';

/** The deterministic id of the alert for one break (the same in a rebuild, so it is raised once). */
export function alertIdOf(taskId: string, b: ChainBreak): string {
  return `audit-${sha256Hex(`${taskId}|${b.kind}|${b.seq}|${b.eventId}`).slice(0, 32)}`;
}

/** The projection document of one event (pure). */
export function eventDocOf(env: WireEnvelope, hash: string, facts: EventFacts, source: EventSource): EventDoc {
  const ref = isBlobRef(env.data) ? env.data.$claimCheck : null;
  return {
    _id: hash,
    eventId: env.id,
    taskId: env.taskId,
    tenantId: env.tenantId,
    seq: env.seq,
    type: env.type,
    occurredAt: env.occurredAt,
    producer: env.producer,
    policyVersion: env.policyVersion,
    causationId: env.causationId,
    source: { topic: source.topic, partition: source.partition, offset: source.offset },
    facts,
    claimCheck: ref === null ? null : { sha256: ref.sha256, sizeBytes: ref.sizeBytes },
    wire: JSON.stringify(env),
  };
}

/**
 * The live projection: every task's chain tracker and summary in memory (bounded), written to MongoDB after each
 * batch with inserts keyed by event hash and one whole-document upsert per task moved. Everything it writes is a
 * function of the set of events read, so replaying the log (a redelivery, a rebuild) writes the same documents.
 */
export class Projection {
  private readonly tasks = new Map<string, TaskState>();
  private onDisk = new Set<string>();
  /** Tasks moved since their summary was last written (written behind by flush()). */
  private readonly dirty = new Set<TaskState>();
  /** Batches applied so far, and how many of them flush() has written the task summaries of. */
  private appliedGeneration = 0;
  private flushedGen = 0;
  private flushing: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly maxAlerts: number;
  private readonly cacheLimit: number;
  private cachedBytes = 0;

  constructor(
    readonly store: AuditStore,
    private readonly options: ProjectionOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.maxAlerts = options.maxAlertsPerTask ?? 20;
    this.cacheLimit = options.verifyCacheBytes ?? DEFAULT_VERIFY_CACHE_BYTES;
  }

  /**
   * The task's events as read, from memory, for on-demand verification: undefined unless the task is in memory with
   * all its events cached and belongs to `tenantId`. They are the same envelopes the projection stored.
   */
  liveChain(taskId: string, tenantId: string): LiveChain | undefined {
    const state = this.tasks.get(taskId);
    if (state === undefined || state.wires === null || state.tenantId !== tenantId) return undefined;
    const envelopes: WireEnvelope[] = [];
    for (const { env } of state.wires.values()) if (env.tenantId === tenantId) envelopes.push(env);
    return { tenantId, envelopes, checkpoint: state.lastCheckpoint };
  }

  /** Remembers a checkpoint stored for a task (the latest, for liveChain). */
  checkpointStored(cp: Checkpoint): void {
    const state = this.tasks.get(cp.taskId);
    if (state !== undefined && (state.lastCheckpoint === null || cp.count >= state.lastCheckpoint.count)) {
      state.lastCheckpoint = cp;
    }
  }

  /** Bytes of wire envelopes cached now. */
  cachedWireBytes(): number {
    return this.cachedBytes;
  }

  /** Reads which tasks the projection already has (once, at start). */
  async init(): Promise<void> {
    await this.store.init();
    this.onDisk = await this.store.taskIds();
  }

  /** Tasks in memory now. */
  tasksInMemory(): number {
    return this.tasks.size;
  }

  /**
   * Projects a batch and returns the new chain breaks: its events inserted (one unordered insertMany), its tasks'
   * chains checked and summaries folded in memory. The task summaries and labelled points are written behind, by
   * flush(): on FerretDB every replace costs 10-20 ms (a write transaction per statement), so they stay off the
   * per-batch path and a task that moves many times between two flushes is written once. A batch's offsets may be
   * committed once a flush has covered it (flushedGeneration() >= the generation() after its apply). Idempotent:
   * replaying a batch finds nothing new.
   */
  async apply(batch: readonly ProjectedInput[]): Promise<ChainFinding[]> {
    const inputs = batch.filter((b) => !this.isAuditorFinding(b.decoded.envelope));
    await this.load(inputs.map((b) => b.decoded.envelope.taskId));
    const docs: EventDoc[] = [];
    const moved = new Set<TaskState>();
    const findings: ChainFinding[] = [];
    const keys = this.options.producerKeys;
    for (const { decoded, source, producerSignature } of inputs) {
      const env = decoded.envelope;
      const facts = storedFactsOf(decoded.event);
      const doc = eventDocOf(env, decoded.hash, facts, source);
      docs.push(doc);
      const state = this.stateOf(env);
      this.cache(state, env, doc._id, doc.wire.length);
      findings.push(...this.applyOne(state, env, decoded.hash, facts));
      if (keys !== undefined && keys.size > 0 && !env.taskId.startsWith(DEAD_LETTER_ALERT_TASK_PREFIX)) {
        const forged = producerBreak(env, decoded.hash, producerSignature, keys);
        if (forged !== undefined) findings.push(...this.findingsOf(state, [forged]));
      }
      moved.add(state);
    }
    await this.store.insertNew(this.store.events, docs);
    for (const state of moved) this.dirty.add(state);
    this.appliedGeneration += 1;
    this.evict();
    this.trimCache();
    return findings;
  }

  /** Batches applied so far (a counter): the generation of the batch apply() last finished. */
  generation(): number {
    return this.appliedGeneration;
  }

  /** The generation whose task summaries are all written: every batch applied up to it is in MongoDB whole. */
  flushedGeneration(): number {
    return this.flushedGen;
  }

  /** Tasks whose summary is not written yet. */
  unwrittenTasks(): number {
    return this.dirty.size;
  }

  /**
   * Writes the summaries (and changed labelled points) of the tasks moved since the last flush, in bulks of unordered
   * whole-document replaces by _id, and returns the generation now covered. One flush at a time; a failed one puts
   * its tasks back to be written by the next.
   */
  flush(): Promise<number> {
    const run = this.flushing.then(async () => {
      const generation = this.appliedGeneration;
      const states = [...this.dirty];
      this.dirty.clear();
      try {
        await this.save(states);
        await this.savePoints(states);
      } catch (error) {
        for (const s of states) this.dirty.add(s);
        throw error;
      }
      this.flushedGen = Math.max(this.flushedGen, generation);
      return generation;
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /**
   * Declares absent causes missing (returns the new breaks) for tasks whose causes must all have been read: tasks
   * quiet for settleMs whose last event was read no later than `readBeforeMs`, the time of the newest log end the
   * reader has passed since (ReadFrontier); none while that is unknown. `all` settles every task (a rebuild that
   * has read the log to its end).
   */
  settle(all = false, readBeforeMs?: number): Promise<ChainFinding[]> {
    const t = this.now();
    const findings: ChainFinding[] = [];
    for (const state of this.tasks.values()) {
      if (!state.chain.isPending()) continue;
      if (!all) {
        if (t - state.lastMovedMs < this.options.settleMs) continue;
        if (readBeforeMs === undefined || state.lastMovedMs > readBeforeMs) continue;
      }
      findings.push(...this.findingsOf(state, state.chain.settle()));
      this.dirty.add(state);
    }
    return Promise.resolve(findings); // their summaries are written by the next flush
  }

  /** The heads of tasks that moved since their last checkpoint; marks them checkpointed. */
  headsToCheckpoint(): TaskHead[] {
    const out: TaskHead[] = [];
    for (const s of this.tasks.values()) {
      const c = s.chain.state();
      if (c.head === null) continue;
      const mark = `${c.count}|${c.head.hash}`;
      if (mark === s.checkpointed) continue;
      s.checkpointed = mark;
      out.push({
        taskId: s.taskId,
        tenantId: s.tenantId,
        count: c.count,
        head: c.head,
        terminal: s.fold.summary().final !== null,
      });
    }
    return out;
  }

  private isAuditorFinding(env: WireEnvelope): boolean {
    return (
      env.type === 'AlertRaised' && env.taskId.startsWith(AUDIT_TASK_PREFIX) && env.producer.startsWith('auditor@')
    );
  }

  private stateOf(env: Pick<WireEnvelope, 'taskId' | 'tenantId'>): TaskState {
    let state = this.tasks.get(env.taskId);
    if (state === undefined) {
      state = {
        taskId: env.taskId,
        tenantId: env.tenantId,
        chain: new TaskChain(env.taskId),
        fold: new TaskSummaryFold(env.tenantId),
        alerts: new Set(),
        lastMovedMs: this.now(),
        checkpointed: null,
        points: new TaskPoints(env.taskId, env.tenantId),
        dirtyPoints: new Set(),
        pointsWritten: new Map(),
        wires: new Map(),
        lastCheckpoint: null,
      };
    }
    // Map order is recency order: the least recently moved task is evicted first.
    this.tasks.delete(env.taskId);
    this.tasks.set(env.taskId, state);
    return state;
  }

  private applyOne(state: TaskState, env: WireEnvelope, hash: string, facts: EventFacts): ChainFinding[] {
    state.lastMovedMs = this.now();
    state.fold.add({ eventId: env.id, type: env.type, seq: env.seq, occurredAt: env.occurredAt, facts });
    if (facts.calibration !== undefined) {
      const touched = state.points.add({
        taskId: env.taskId,
        tenantId: env.tenantId,
        seq: env.seq,
        occurredAt: env.occurredAt,
        fact: facts.calibration,
      });
      for (const actionId of touched) state.dirtyPoints.add(actionId);
    }
    if (isEventType(env.type) && outOfChainEventTypes.has(env.type)) return [];
    // A worker's alert about a dead letter travels under dlq.<taskId>, each one a chain of its own (seq 0).
    if (env.taskId.startsWith(DEAD_LETTER_ALERT_TASK_PREFIX)) return [];
    const breaks = state.chain.add(env, hash);
    if (env.tenantId !== state.tenantId) {
      breaks.push({
        kind: 'foreign',
        eventId: env.id,
        seq: env.seq,
        detail: `event claims tenant ${env.tenantId}, but task ${state.taskId} belongs to ${state.tenantId}`,
      });
    }
    return this.findingsOf(state, breaks);
  }

  private findingsOf(state: TaskState, breaks: readonly ChainBreak[]): ChainFinding[] {
    const out: ChainFinding[] = [];
    for (const b of breaks) {
      if (state.alerts.size >= this.maxAlerts) break;
      const alertId = alertIdOf(state.taskId, b);
      if (state.alerts.has(alertId)) continue;
      state.alerts.add(alertId);
      out.push({ alertId, taskId: state.taskId, tenantId: state.tenantId, break: b });
    }
    return out;
  }

  /** Reloads tasks that are in MongoDB but not in memory (after a restart or an eviction). */
  private async load(taskIds: readonly string[]): Promise<void> {
    const wanted = [...new Set(taskIds)].filter((id) => !this.tasks.has(id) && this.onDisk.has(id));
    if (wanted.length === 0) return;
    const docs = await this.store.eventsOf(wanted);
    docs.sort(
      (a, b) => a.taskId.localeCompare(b.taskId) || a.seq - b.seq || a.source.offset.localeCompare(b.source.offset),
    );
    for (const doc of docs) {
      const env = JSON.parse(doc.wire) as WireEnvelope;
      const state = this.stateOf(env);
      this.cache(state, env, doc._id, doc.wire.length);
      this.applyOne(state, env, doc._id, doc.facts);
    }
  }

  private async save(moved: readonly TaskState[]): Promise<void> {
    const docs: TaskDoc[] = moved.map((s) => {
      const chain = s.chain.state();
      return {
        _id: s.taskId,
        ...s.fold.summary(),
        chain: { ...chain, breaks: chain.breaks.slice(0, 50) },
        alerts: [...s.alerts].sort(),
      };
    });
    await this.store.saveTasks(docs);
    for (const s of moved) this.onDisk.add(s.taskId);
  }

  /**
   * Writes the labelled points (ADR 0025) the batch may have changed, only those that did change since last written
   * (O(1) per event for a task's events in order). A task reloaded from MongoDB rewrites its points once (the same
   * documents: a replace by id).
   */
  private async savePoints(moved: readonly TaskState[]): Promise<void> {
    const changed: Array<{ state: TaskState; actionId: string; point: LabelledPoint; json: string }> = [];
    for (const s of moved) {
      for (const actionId of [...s.dirtyPoints]) {
        s.dirtyPoints.delete(actionId);
        const point = s.points.point(actionId);
        if (point === undefined) continue; // its proposal has not arrived yet: it will mark the action again
        const json = JSON.stringify(point);
        if (s.pointsWritten.get(point.id) !== json) changed.push({ state: s, actionId, point, json });
      }
    }
    try {
      await this.store.savePoints(changed.map((c) => c.point));
    } catch (error) {
      for (const c of changed) c.state.dirtyPoints.add(c.actionId); // written by the next flush
      throw error;
    }
    for (const c of changed) c.state.pointsWritten.set(c.point.id, c.json);
  }

  private cache(state: TaskState, env: WireEnvelope, hash: string, bytes: number): void {
    if (state.wires === null || state.wires.has(hash)) return;
    state.wires.set(hash, { env, bytes });
    this.cachedBytes += bytes;
  }

  private uncache(state: TaskState): void {
    if (state.wires === null) return;
    for (const { bytes } of state.wires.values()) this.cachedBytes -= bytes;
    state.wires = null;
  }

  /** Drops the cached envelopes of the tasks moved least recently until the cache is within its bytes. */
  private trimCache(): void {
    for (const state of this.tasks.values()) {
      if (this.cachedBytes <= this.cacheLimit) return;
      this.uncache(state);
    }
  }

  private evict(): void {
    for (const [taskId, state] of this.tasks) {
      if (this.tasks.size <= this.options.maxTasksInMemory) return;
      if (state.chain.isPending() && this.tasks.size <= this.options.maxTasksInMemory * 2) continue;
      // Not before its summary is written: a task dropped unwritten would be lost to the projection.
      if (this.dirty.has(state)) continue;
      this.uncache(state);
      this.tasks.delete(taskId);
    }
  }
}
