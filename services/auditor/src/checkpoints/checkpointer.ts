import type { Producer } from 'kafkajs';
import type { Projection } from '../projector/projection.js';
import type { AuditStore, CheckpointDoc } from '../projector/store.js';
import { signCheckpoint } from './checkpoint.js';

/** The topic signed checkpoints go to: `<prefix>.checkpoints.v1` (plain JSON, keyed by taskId, kept forever). */
export function checkpointTopic(topicPrefix: string): string {
  return `${topicPrefix}.checkpoints.v1`;
}

/**
 * Signs a checkpoint for every task that moved since its last one, stores it (MongoDB, keyed by task, count and
 * head) and publishes it. Returns how many were written.
 */
export async function writeCheckpoints(
  projection: Projection,
  store: AuditStore,
  producer: Producer,
  topic: string,
  key: string,
  auditor: string,
  now = new Date(),
): Promise<number> {
  const heads = projection.headsToCheckpoint();
  if (heads.length === 0) return 0;
  const docs: CheckpointDoc[] = heads.map((h) => {
    const cp = signCheckpoint(
      {
        v: 1,
        taskId: h.taskId,
        tenantId: h.tenantId,
        count: h.count,
        head: h.head,
        terminal: h.terminal,
        at: now.toISOString(),
        auditor,
      },
      key,
    );
    return { _id: `${h.taskId}|${h.count}|${h.head.hash}`, ...cp };
  });
  const fresh = await store.insertNew(store.checkpoints, docs);
  for (const { _id, ...cp } of docs) projection.checkpointStored(cp);
  const toSend = docs.filter((d) => fresh.has(d._id));
  if (toSend.length > 0) {
    await producer.send({
      topic,
      acks: -1,
      messages: toSend.map(({ _id, ...cp }) => ({
        key: cp.taskId,
        value: JSON.stringify(cp),
        headers: { 'content-type': 'application/vnd.warden.checkpoint+json; v=1' },
      })),
    });
  }
  return toSend.length;
}
