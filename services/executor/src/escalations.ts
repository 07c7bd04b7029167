import type { HeldEscalation } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';

interface EscalationDoc extends HeldEscalation {
  _id: string;
}

/**
 * The escalations of the tasks the executor serves, as EscalationRequested stated them: a person's approval runs
 * only if it answers exactly one of them (same task, action, args hash, policy version, within its expiry). Kept in
 * MongoDB next to the effect ledger, keyed by task and escalation; a repeated escalation (same id) replaces the
 * earlier one, as events of one task arrive in order.
 */
export class EscalationBook {
  private readonly docs: Collection<EscalationDoc>;

  constructor(db: Db, collection = 'executor_escalations') {
    this.docs = db.collection<EscalationDoc>(collection);
  }

  /** Records (or replaces) an escalation. Idempotent. */
  async record(held: HeldEscalation): Promise<void> {
    const _id = `${held.taskId}|${held.escalationId}`;
    await this.docs.replaceOne({ _id }, { ...held }, { upsert: true });
  }

  /** The escalation `escalationId` of task `taskId`, if the executor saw it. */
  async get(taskId: string, escalationId: string): Promise<HeldEscalation | undefined> {
    const doc = await this.docs.findOne({ _id: `${taskId}|${escalationId}` });
    if (doc === null) return undefined;
    const { _id: _key, ...held } = doc;
    return held;
  }
}
