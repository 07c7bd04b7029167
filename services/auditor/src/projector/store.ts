import type { LabelledPoint } from '@warden/calibration';
import type { ChainBreak, ChainState } from '@warden/contracts';
import { createIndexesOnce, insertNewDocuments } from '@warden/runtime';
import type { Collection, Db } from 'mongodb';
import type { Checkpoint } from '../checkpoints/checkpoint.js';
import type { EventFacts } from './facts.js';
import type { TaskSummary } from './task-summary.js';

/** Where an event was read. */
export interface EventSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** One event in the projection, keyed by its hash (content address: a redelivery inserts nothing new). */
export interface EventDoc {
  _id: string;
  eventId: string;
  taskId: string;
  tenantId: string;
  seq: number;
  type: string;
  occurredAt: string;
  producer: string;
  policyVersion: string;
  causationId: string | null;
  source: EventSource;
  facts: EventFacts;
  /** The claim-check reference when the data is in the blob store. */
  claimCheck: { sha256: string; sizeBytes: number } | null;
  /** The wire envelope exactly as read, as JSON (keys such as `$claimCheck` cannot be stored as document fields). */
  wire: string;
}

/** One task in the projection: its summary and its chain's state. */
export interface TaskDoc extends TaskSummary {
  _id: string;
  chain: Omit<ChainState, 'breaks'> & { breaks: ChainBreak[] };
  /** Alerts raised for this task (deterministic ids). */
  alerts: string[];
}

/** An alert the auditor raised (AlertRaised), recorded so it is published once. */
export interface AlertDoc {
  _id: string;
  taskId: string;
  tenantId: string;
  code: 'audit_chain_broken';
  break: ChainBreak;
  published: boolean;
}

/** A stored checkpoint. */
export interface CheckpointDoc extends Checkpoint {
  _id: string;
}

/** A message on an audit topic that could not be decoded. */
export interface UndecodableDoc {
  _id: string;
  source: EventSource;
  errorCode: string;
  message: string;
  keyBase64: string | null;
  valueBase64: string | null;
}

/** A labelled point of the calibration (ADR 0025), keyed `<taskId>:<actionId>`. */
export type PointDoc = LabelledPoint & { _id: string };

/** Statements per bulk write (alert updates): FerretDB 1.24 hangs on bulks of 100 or more. */
export const SAVE_CHUNK = 50;
/**
 * Replaces per bulk write of task summaries and labelled points, written behind the events: small, so that an
 * insert of events waits for at most a few replaces (on FerretDB a bulk holds the store for its whole length, each
 * replace a scan of the collection: 0.4-2.6 s for 50 at 1,250-3,750 tasks under load, ADR 0030).
 */
export const SUMMARY_CHUNK = 10;

/** The auditor's MongoDB collections (prefix `audit_` by default). */
export class AuditStore {
  readonly events: Collection<EventDoc>;
  readonly tasks: Collection<TaskDoc>;
  readonly alerts: Collection<AlertDoc>;
  readonly checkpoints: Collection<CheckpointDoc>;
  readonly undecodable: Collection<UndecodableDoc>;
  /** Labelled points of the calibration: a projection of the log like events and tasks. */
  readonly points: Collection<PointDoc>;

  constructor(
    readonly db: Db,
    readonly prefix = 'audit_',
  ) {
    this.events = db.collection<EventDoc>(`${prefix}events`);
    this.tasks = db.collection<TaskDoc>(`${prefix}tasks`);
    this.alerts = db.collection<AlertDoc>(`${prefix}alerts`);
    this.checkpoints = db.collection<CheckpointDoc>(`${prefix}checkpoints`);
    this.undecodable = db.collection<UndecodableDoc>(`${prefix}undecodable`);
    this.points = db.collection<PointDoc>(`${prefix}calibration_points`);
  }

  /**
   * Creates an index for every query the auditor and its API make (ADR 0030 lists them). A real MongoDB answers
   * each from its index; FerretDB 1.x creates them but scans anyway (STACK-NOTES section 5), which is why nothing on
   * the projection's per-event path queries by key. Creating an index that exists is a no-op.
   */
  async init(): Promise<void> {
    // timeline, export, verify?source=store, backtest: a task's events ({taskId, tenantId}); a task's reload ($in).
    await createIndexesOnce(this.events, [{ key: { taskId: 1, seq: 1 }, name: 'taskId_1_seq_1' }]);
    // GET /v1/tasks: a tenant's tasks, newest first (sort {submittedAt: -1, _id: 1}), optionally from/to; and each
    // other filter of the search with the tenant and the same sort (tools and rules are arrays: multikey).
    await createIndexesOnce(this.tasks, [
      { key: { tenantId: 1, submittedAt: -1, _id: 1 }, name: 'tenant_submitted' },
      { key: { tenantId: 1, status: 1, submittedAt: -1 }, name: 'tenant_status_submitted' },
      { key: { tenantId: 1, 'chain.status': 1, submittedAt: -1 }, name: 'tenant_chain_submitted' },
      { key: { tenantId: 1, tools: 1, submittedAt: -1 }, name: 'tenant_tools_submitted' },
      { key: { tenantId: 1, rules: 1, submittedAt: -1 }, name: 'tenant_rules_submitted' },
    ]);
    // latestCheckpoint: a task's checkpoints by count, then time.
    await createIndexesOnce(this.checkpoints, [{ key: { taskId: 1, count: -1, at: -1 }, name: 'task_count_at' }]);
    // republishPending at start: the alerts not published yet.
    await createIndexesOnce(this.alerts, [{ key: { published: 1 }, name: 'published_1' }]);
  }

  /** Drops the projection (events, tasks, undecodable, calibration points). Alerts and checkpoints are records, not projection. */
  async dropProjection(): Promise<void> {
    for (const c of [this.events, this.tasks, this.undecodable, this.points]) {
      await c.drop().catch((error: unknown) => {
        if ((error as { codeName?: string }).codeName !== 'NamespaceNotFound') throw error;
      });
    }
  }

  /** Inserts documents keyed by _id, ignoring those already there; returns the ids that were new. */
  async insertNew<T extends { _id: string }>(collection: Collection<T>, docs: readonly T[]): Promise<Set<string>> {
    const existing = await insertNewDocuments(collection, docs);
    return new Set(docs.map((d) => d._id).filter((id) => !existing.has(id)));
  }

  /**
   * Replaces task documents whole (upsert by _id): idempotent. Sent in unordered bulks of SUMMARY_CHUNK (FerretDB 1.24
   * ran one bulk of 250 replaces of existing documents for minutes).
   */
  async saveTasks(docs: readonly TaskDoc[]): Promise<void> {
    for (let i = 0; i < docs.length; i += SUMMARY_CHUNK) {
      await this.tasks.bulkWrite(
        docs
          .slice(i, i + SUMMARY_CHUNK)
          .map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } })),
        // Distinct ids, each replace independent of the others: unordered.
        { ordered: false },
      );
    }
  }

  /** Replaces labelled points whole (upsert by id; in bulks of SUMMARY_CHUNK, as tasks): idempotent. */
  async savePoints(points: readonly LabelledPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i += SUMMARY_CHUNK) {
      await this.points.bulkWrite(
        points
          .slice(i, i + SUMMARY_CHUNK)
          .map((p) => ({ replaceOne: { filter: { _id: p.id }, replacement: { _id: p.id, ...p }, upsert: true } })),
        { ordered: false },
      );
    }
  }

  /** Every task id in the projection (read once at start, so new tasks never cost a lookup). */
  async taskIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const d of this.tasks.find({}, { projection: { _id: 1 } })) ids.add(d._id);
    return ids;
  }

  /** The stored events of some tasks. */
  async eventsOf(taskIds: readonly string[]): Promise<EventDoc[]> {
    if (taskIds.length === 0) return [];
    return this.events
      .find(taskIds.length === 1 ? { taskId: taskIds[0]! } : { taskId: { $in: [...taskIds] } })
      .toArray();
  }

  /** The latest checkpoint of a task (most events). */
  async latestCheckpoint(taskId: string): Promise<CheckpointDoc | null> {
    const [doc] = await this.checkpoints.find({ taskId }).sort({ count: -1, at: -1 }).limit(1).toArray();
    return doc ?? null;
  }
}
