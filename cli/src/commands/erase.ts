/**
 * `warden erase SUBJECT`: crypto-shredding (ADR 0026). Deletes the data subject's key, so every value sealed with it
 * reads as erased in every copy of the log while the chains still verify (tool results, what the model repeated of
 * them, the effect ledger, the copies the tools kept for undo), and records the erasure as a SubjectErased event.
 */
import { MongoSubjectKeyStore, subjectErasedDraft } from '@warden/contracts';
import { ensureTopics, Publisher, producerConfig } from '@warden/runtime';
import { subjectKeyId } from '@warden/tools';
import type { CliConfig } from '../config.js';
import { ExitCodes, unavailableError } from '../errors.js';
import { connect } from '../events.js';
import { say } from './io.js';

/** Options of `warden erase`. */
export interface EraseOptions {
  readonly tenantId: string;
  /** Erase the tenant's key (per-tenant sealing) instead of one subject's. */
  readonly wholeTenant: boolean;
  readonly reason: string;
  readonly requester: string;
  readonly json: boolean;
}

/** `warden erase SUBJECT`: exit 0 once the key is gone and the erasure recorded. */
export async function erase(config: CliConfig, subject: string, options: EraseOptions): Promise<number> {
  const key = subjectKeyId(options.tenantId, subject, options.wholeTenant ? 'tenant' : 'subject');
  const deps = await connect(config.runtime);
  const producer = deps.kafka.producer(producerConfig);
  const admin = deps.kafka.admin();
  try {
    const keysDeleted = await new MongoSubjectKeyStore(deps.db).erase(key);
    const draft = subjectErasedDraft(
      { subject: key, keysDeleted, erasedBy: { id: options.requester, kind: 'user' }, reason: options.reason },
      { tenantId: options.tenantId, producer: 'warden-cli' },
    );
    try {
      await admin.connect();
      await ensureTopics(admin, [deps.topics.of('alerts')]);
      await producer.connect();
      await new Publisher(producer, deps.codec, deps.topics).publish(draft);
    } catch (error) {
      throw unavailableError(
        `the key of ${key} is deleted, but the erasure could not be recorded on ${deps.topics.of('alerts')}: ${(error as Error).message}`,
        'check Kafka with `warden stack status`, then run the command again (it records the erasure again)',
        error,
      );
    }
    if (options.json) say(JSON.stringify({ subject: key, keysDeleted, eventId: draft.id, taskId: draft.taskId }));
    else {
      say(
        keysDeleted > 0
          ? `erased ${key}: its key is deleted; values sealed with it now read as erased`
          : `${key} had no key (erased before, or nothing sealed): the erasure is recorded again`,
      );
    }
    return ExitCodes.ok;
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await deps.mongo.close();
  }
}
