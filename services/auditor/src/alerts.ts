import { randomUUID } from 'node:crypto';
import { MAX_MESSAGE_CHARS, clipText, sha256Hex, type EventCodec, type EventDraft } from '@warden/contracts';
import { sendAll, toOutgoing, type Topics } from '@warden/runtime';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { AUDIT_TASK_PREFIX, type ChainFinding } from './projector/projection.js';
import { SAVE_CHUNK, type AlertDoc, type AuditStore } from './projector/store.js';

/**
 * The task id an auditor finding travels under. A finding is not a step of the task it is about: chaining it into
 * that task would fork the chain at the next seq. `audit.<taskId>` keeps it out, and the subject names the task.
 */
export function findingTaskId(taskId: string): string {
  const id = `${AUDIT_TASK_PREFIX}${taskId}`;
  return id.length <= 200 ? id : `${AUDIT_TASK_PREFIX}${sha256Hex(taskId)}`;
}

/** The AlertRaised draft for a chain break (pure). */
export function alertDraft(doc: AlertDoc, producer: string, now = new Date()): EventDraft<'AlertRaised'> {
  const b = doc.break;
  const taskId = findingTaskId(doc.taskId);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  return {
    id: randomUUID(),
    type: 'AlertRaised',
    taskId,
    tenantId: doc.tenantId,
    seq: 0,
    prevHashes: [],
    causationId: uuid.test(b.eventId) ? b.eventId : null,
    correlationId: doc.taskId,
    occurredAt: now.toISOString(),
    producer,
    policyVersion: 'none',
    data: {
      alertId: doc._id,
      code: 'audit_chain_broken',
      severity: 'critical',
      message: clipText(
        `hash chain of task ${doc.taskId} is broken at seq ${b.seq}: ${b.kind}: ${b.detail}`,
        MAX_MESSAGE_CHARS,
      ),
      subject: {
        taskId: doc.taskId,
        tenantId: doc.tenantId,
        kind: b.kind,
        seq: String(b.seq),
        eventId: b.eventId,
      },
    },
  };
}

/** Raises AlertRaised for chain breaks, once per break (recorded in MongoDB before publishing). */
export class AlertRaiser {
  constructor(
    private readonly store: AuditStore,
    private readonly codec: EventCodec,
    private readonly producer: Producer,
    private readonly topics: Topics,
    private readonly producerName: string,
    private readonly logger: Logger,
    /** Called once per break found (first recorded). */
    private readonly onBreak?: (kind: string) => void,
  ) {}

  /** Records the findings and publishes those not raised before. */
  async raise(findings: readonly ChainFinding[]): Promise<number> {
    if (findings.length === 0) return 0;
    const docs: AlertDoc[] = findings.map((f) => ({
      _id: f.alertId,
      taskId: f.taskId,
      tenantId: f.tenantId,
      code: 'audit_chain_broken',
      break: f.break,
      published: false,
    }));
    const fresh = await this.store.insertNew(this.store.alerts, docs);
    for (const d of docs) if (fresh.has(d._id)) this.onBreak?.(d.break.kind);
    return this.publish(docs.filter((d) => fresh.has(d._id)));
  }

  /** Publishes alerts recorded but not published (a crash between the two). */
  async republishPending(): Promise<number> {
    return this.publish(await this.store.alerts.find({ published: false }).toArray());
  }

  private async publish(docs: readonly AlertDoc[]): Promise<number> {
    if (docs.length === 0) return 0;
    const out = [];
    for (const doc of docs) {
      const encoded = await this.codec.encode(alertDraft(doc, this.producerName));
      out.push(toOutgoing(encoded, this.topics));
      this.logger.error({ taskId: doc.taskId, break: doc.break, alertId: doc._id }, 'audit chain broken');
    }
    await sendAll(this.producer, out);
    // In bulks of SAVE_CHUNK: FerretDB 1.24 holds a connection per statement of one update command until it ends, so
    // one bulk of 100 or more (284 alerts after a restart) exhausts its pool and hangs every query of the database.
    for (let i = 0; i < docs.length; i += SAVE_CHUNK) {
      await this.store.alerts.bulkWrite(
        docs
          .slice(i, i + SAVE_CHUNK)
          .map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { published: true } } } })),
        { ordered: false },
      );
    }
    return docs.length;
  }
}
