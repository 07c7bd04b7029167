import type { ChainLink, EventData, EventOf, HeldEscalation, WardenEvent } from '@warden/contracts';
import { heldEscalationOf, isDuplicateKeyError } from '@warden/contracts';
import { createIndexesOnce, insertNewDocuments } from '@warden/runtime';
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';

/** Where an escalation is. */
export const EscalationStatuses = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'resumed'] as const;
/** Where an escalation is. */
export type EscalationStatus = (typeof EscalationStatuses)[number];

/** The one outcome of an escalation. */
export type Outcome = 'approved' | 'denied' | 'expired' | 'resumed' | 'cancelled';

/** The halt an escalation asks about: its TaskHalted event (chained onto by a resume or cancel) and reason. */
export interface HaltRecord {
  readonly eventId: string;
  readonly reasonCode: string;
  readonly link: ChainLink;
}

/** Who decided, in which role, when and why. */
export interface DecisionRecord {
  /** resumed and cancelled: an admin's answer to a halted task. */
  readonly outcome: Outcome;
  readonly by?: string;
  readonly role?: string;
  readonly at: string;
  readonly comment?: string;
  readonly eventId: string;
}

/** One escalation as the service projects it from the log. */
export interface EscalationDoc {
  _id: string;
  taskId: string;
  tenantId: string;
  escalationId: string;
  status: EscalationStatus;
  requested: EventData<'EscalationRequested'>;
  held: HeldEscalation;
  /** The EscalationRequested event, to chain the decision onto. */
  link: ChainLink;
  requestedAt: string;
  expiresAt: Date;
  decision?: DecisionRecord;
  /** Set when the escalation was raised by a halt (TaskHalted names it). */
  halt?: HaltRecord;
  /** When and by which replica the document last changed: other replicas' live updates poll for it. */
  updatedAt?: Date;
  writer?: string;
}

/** The claim on an escalation's one outcome: whoever inserts it first decides (or expires) it. */
interface OutcomeClaim {
  _id: string;
  outcome: Outcome;
  at: Date;
}

/** An alert as the service keeps it for people. */
export interface AlertDoc {
  _id: string;
  taskId: string;
  tenantId: string;
  data: EventData<'AlertRaised'>;
  raisedAt: string;
}

/** An escalation that changed (new, decided, expired, cancelled), for live updates. */
export interface EscalationChange {
  readonly taskId: string;
  readonly tenantId: string;
  readonly escalationId: string;
}

/** The chain link of an event (what a following event names as its cause). */
function linkOf(event: WardenEvent, hash: string): ChainLink {
  const { id, taskId, tenantId, seq, correlationId, policyVersion } = event;
  return { envelope: { id, taskId, tenantId, seq, correlationId, policyVersion }, hash };
}

/** The key of an escalation: its task and its id. */
export const escalationKey = (taskId: string, escalationId: string): string => `${taskId}|${escalationId}`;

/**
 * The escalation service's MongoDB projection, rebuildable from the log with idempotent upserts: escalations, their
 * outcome claims (a unique key per escalation: exactly one decision or expiry, even across replicas and on a
 * server without transactions) and alerts.
 */
export class EscalationStore {
  readonly escalations: Collection<EscalationDoc>;
  private readonly claims: Collection<OutcomeClaim>;
  readonly alerts: Collection<AlertDoc>;
  private readonly listeners = new Set<(change: EscalationChange) => void>();

  /** Calls `listener` after each change this process makes; returns the unsubscribe. */
  onChange(listener: (change: EscalationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(doc: { taskId: string; tenantId: string; escalationId: string } | null): void {
    if (doc === null) return;
    const change = { taskId: doc.taskId, tenantId: doc.tenantId, escalationId: doc.escalationId };
    for (const l of this.listeners) l(change);
  }

  /** This process's id as a writer of the projection (its own changes are announced without polling). */
  readonly writer = randomUUID();

  private stamp(): { updatedAt: Date; writer: string } {
    return { updatedAt: new Date(), writer: this.writer };
  }

  constructor(db: Db) {
    this.escalations = db.collection<EscalationDoc>('escalations');
    this.claims = db.collection<OutcomeClaim>('escalation_outcomes');
    this.alerts = db.collection<AlertDoc>('escalation_alerts');
  }

  /**
   * The indexes every query of this store is served by on a real MongoDB (docs/mongodb-queries.md; FerretDB 1.x
   * scans regardless). Called once at start; a failure is the caller's to log: queries still answer, slower.
   */
  async ensureIndexes(): Promise<void> {
    await createIndexesOnce(this.escalations, [
      { key: { tenantId: 1, requestedAt: -1 }, name: 'tenant_requested' }, // list, any status
      { key: { tenantId: 1, status: 1, requestedAt: -1 }, name: 'tenant_status_requested' }, // list by status
      { key: { status: 1, expiresAt: 1 }, name: 'status_expires' }, // overdue
      { key: { updatedAt: 1 }, name: 'updated' }, // announceOthers
    ]);
  }

  /** Records an escalation as pending, unless already known. */
  async recordRequested(event: EventOf<'EscalationRequested'>, hash: string): Promise<void> {
    const _id = escalationKey(event.taskId, event.data.escalationId);
    const doc: Omit<EscalationDoc, '_id'> = {
      taskId: event.taskId,
      tenantId: event.tenantId,
      escalationId: event.data.escalationId,
      status: 'pending',
      requested: event.data,
      held: heldEscalationOf(event.taskId, event.data),
      link: linkOf(event, hash),
      requestedAt: event.occurredAt,
      expiresAt: new Date(event.data.expiresAt),
    };
    // the halt (outcomes topic) may be projected first: the request's fields are set, the status only on insert
    const { status, ...fields } = doc;
    try {
      await this.escalations.updateOne(
        { _id, requested: { $exists: false } },
        { $set: { ...fields, ...this.stamp() }, $setOnInsert: { status } },
        { upsert: true },
      );
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // recorded already (a redelivery: nothing matches), or the halt inserted it at the same moment (fill it in)
      await this.escalations.updateOne(
        { _id, requested: { $exists: false } },
        { $set: { ...fields, ...this.stamp() } },
      );
    }
    this.changed(doc);
  }

  /**
   * Records the halt an escalation asks about (TaskHalted names it), before or after the escalation itself, so an
   * admin's resume or cancel binds to the exact halt and follows it in the task's chain.
   */
  async recordHalt(event: EventOf<'TaskHalted'>, hash: string): Promise<void> {
    if (event.data.escalationId === undefined) return;
    const halt: HaltRecord = {
      eventId: event.id,
      reasonCode: event.data.reasonCode,
      link: linkOf(event, hash),
    };
    const _id = escalationKey(event.taskId, event.data.escalationId);
    const inserted = { taskId: event.taskId, tenantId: event.tenantId, escalationId: event.data.escalationId };
    try {
      await this.escalations.updateOne(
        { _id },
        { $set: { halt, ...this.stamp() }, $setOnInsert: { ...inserted, status: 'pending' } },
        { upsert: true },
      );
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      await this.escalations.updateOne({ _id }, { $set: { halt, ...this.stamp() } }); // the request inserted it at the same moment
    }
    this.changed({ taskId: event.taskId, tenantId: event.tenantId, escalationId: event.data.escalationId });
  }

  /** Claims the one outcome of an escalation; false when it already has one. */
  async claim(key: string, outcome: OutcomeClaim['outcome'], at: Date): Promise<boolean> {
    const existing = await insertNewDocuments(this.claims, [{ _id: key, outcome, at }]);
    return !existing.has(key);
  }

  /** Gives a claim back (its event could not be published). */
  async release(key: string): Promise<void> {
    await this.claims.deleteOne({ _id: key });
  }

  /** Records an escalation's outcome (idempotent; the claim is restored on a rebuild). */
  async recordOutcome(key: string, status: EscalationStatus, decision: DecisionRecord): Promise<void> {
    if (decision.outcome !== undefined) await this.claim(key, decision.outcome, new Date(decision.at));
    await this.escalations.updateOne({ _id: key }, { $set: { status, decision, ...this.stamp() } });
    this.changed(await this.escalations.findOne({ _id: key }));
  }

  /** Cancels those of a task's escalations that are still pending (the task ended), each by `_id`. */
  async cancelPending(taskId: string, escalationIds: readonly string[]): Promise<void> {
    for (const escalationId of escalationIds) {
      const doc = await this.escalations.findOneAndUpdate(
        { _id: escalationKey(taskId, escalationId), status: 'pending' },
        { $set: { status: 'cancelled', ...this.stamp() } },
        { returnDocument: 'after' },
      );
      this.changed(doc);
    }
  }

  /** An escalation, if it belongs to one of `tenants`. */
  async get(taskId: string, escalationId: string, tenants: readonly string[]): Promise<EscalationDoc | null> {
    return this.escalations.findOne({
      _id: escalationKey(taskId, escalationId),
      tenantId: { $in: [...tenants] },
      requested: { $exists: true },
    });
  }

  /** Escalations of `tenants`, newest first. */
  async list(tenants: readonly string[], status?: EscalationStatus, limit = 200): Promise<EscalationDoc[]> {
    const filter = {
      tenantId: { $in: [...tenants] },
      requested: { $exists: true },
      ...(status === undefined ? {} : { status }),
    };
    // Newest first, at most `limit`, from the index (tenant[, status], requestedAt): never the tenants' whole history.
    return this.escalations.find(filter).sort({ requestedAt: -1 }).limit(limit).toArray();
  }

  /** Pending escalations past their expiry. */
  async overdue(now: Date): Promise<EscalationDoc[]> {
    return this.escalations
      .find({ status: 'pending', expiresAt: { $lte: now }, requested: { $exists: true } })
      .toArray();
  }

  /**
   * Announces the changes other replicas made (each replica projects only the partitions it is given, so its own
   * changes reach only its own live clients): those stamped after `since` minus `lookbackMs` (clocks of replicas
   * differ), each once (`announced`, pruned as the window moves). Returns the newest change time seen.
   */
  async announceOthers(since: Date, lookbackMs: number, announced: Map<string, number>): Promise<Date> {
    const from = since.getTime() - lookbackMs;
    const docs = await this.escalations
      .find(
        { updatedAt: { $gt: new Date(from) }, writer: { $ne: this.writer } },
        { projection: { taskId: 1, tenantId: 1, escalationId: 1, updatedAt: 1 } },
      )
      .toArray();
    for (const [key, at] of announced) if (at <= from) announced.delete(key);
    let newest = since;
    for (const doc of docs) {
      const at = doc.updatedAt?.getTime() ?? 0;
      if (at > newest.getTime()) newest = new Date(at);
      const key = `${doc._id}@${at}`;
      if (announced.has(key)) continue;
      announced.set(key, at);
      this.changed(doc);
    }
    return newest;
  }

  /** Keeps an alert (idempotent). */
  async recordAlert(event: EventOf<'AlertRaised'>): Promise<void> {
    await insertNewDocuments(this.alerts, [
      { _id: event.id, taskId: event.taskId, tenantId: event.tenantId, data: event.data, raisedAt: event.occurredAt },
    ]);
  }
}
