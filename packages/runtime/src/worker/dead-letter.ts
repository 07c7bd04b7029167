import {
  MAX_ERROR_MESSAGE_CHARS,
  MAX_ID_CHARS,
  MAX_MESSAGE_CHARS,
  sha256Hex,
  MAX_STACK_CHARS,
  clipText,
  isIdentifier,
  type EventDraft,
  type WireEnvelope,
} from '@warden/contracts';
import type { KafkaMessage } from 'kafkajs';
import { WardenHeaders } from '../publisher.js';
import { headerText } from '../telemetry.js';
import { errorCodeOf } from './retry.js';

/** A Kafka message's headers as text (values that are not text are left out). */
export function headersOf(message: Pick<KafkaMessage, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    const t = headerText(v);
    if (t !== undefined) out[k] = t;
  }
  return out;
}

/** Everything a DeadLettered event records about a message that could not be handled. */
export interface DeadLetterInput {
  /** The worker giving up. */
  readonly worker: string;
  /** The producer field (`name@version`). */
  readonly producer: string;
  readonly topic: string;
  readonly partition: number;
  readonly message: Pick<KafkaMessage, 'key' | 'value' | 'offset' | 'headers'>;
  /** The message's envelope when it could be decoded. */
  readonly envelope?: WireEnvelope;
  readonly error: unknown;
  /** Attempts made (1 for a message that could not be decoded). */
  readonly attempts: number;
  /** The event's id (default a random UUID). */
  readonly id?: string;
  /** The clock (default now). */
  readonly now?: Date;
}

/**
 * The DeadLettered draft for a message: the original bytes, key and headers, the error's code, message and stack
 * (bounded), the attempts made. Its taskId and tenantId come from the envelope, else the Warden headers, else the
 * key, and are "unknown" when what was found is not a safe id. The draft starts a chain of its own (seq 0).
 */
export function deadLetterDraft(input: DeadLetterInput): EventDraft<'DeadLettered'> {
  const { message, envelope: env, error } = input;
  const headers = headersOf(message);
  const candidateTask = env?.taskId ?? headers[WardenHeaders.taskId] ?? message.key?.toString() ?? '';
  const taskId = isIdentifier(candidateTask) ? candidateTask : 'unknown';
  const tenant = env?.tenantId ?? headers[WardenHeaders.tenantId] ?? '';
  const err = error as Error | undefined;
  return {
    id: input.id ?? crypto.randomUUID(),
    type: 'DeadLettered',
    taskId,
    tenantId: isIdentifier(tenant) ? tenant : 'unknown',
    seq: 0,
    prevHashes: [],
    causationId: env?.id ?? null,
    correlationId: env?.correlationId ?? taskId,
    occurredAt: (input.now ?? new Date()).toISOString(),
    producer: input.producer,
    policyVersion: env?.policyVersion ?? 'none',
    data: {
      worker: input.worker,
      originalTopic: input.topic,
      partition: input.partition,
      offset: message.offset,
      keyBase64: message.key === null ? null : message.key.toString('base64'),
      valueBase64: message.value === null ? null : message.value.toString('base64'),
      headers,
      errorCode: errorCodeOf(error),
      errorMessage: clipText(String(err?.message ?? error), MAX_ERROR_MESSAGE_CHARS),
      stack: typeof err?.stack === 'string' ? clipText(err.stack, MAX_STACK_CHARS) : null,
      attempts: input.attempts,
    },
  };
}

/** Task ids of dead-letter alerts start with this: an alert about a task is not a step of it (see the auditor's `audit.`). */
export const DEAD_LETTER_ALERT_TASK_PREFIX = 'dlq.';

/** The task id a dead-letter alert travels under: outside the chain of the task it names. */
export function deadLetterAlertTaskId(taskId: string): string {
  const id = `${DEAD_LETTER_ALERT_TASK_PREFIX}${taskId}`;
  return id.length <= MAX_ID_CHARS ? id : `${DEAD_LETTER_ALERT_TASK_PREFIX}${sha256Hex(taskId)}`;
}

/**
 * The AlertRaised that goes out with every DeadLettered event (in the same transaction), so that a dead letter is
 * never silent: code `dead_lettered`, critical when the event was refused as a conflict (an id or a task reused),
 * else a warning; its subject names the task, the worker, the error code and the dead letter's id.
 */
export function deadLetterAlertDraft(
  dead: EventDraft<'DeadLettered'>,
  producer: string,
  now = new Date(),
): EventDraft<'AlertRaised'> {
  const d = dead.data;
  const conflict = /CONFLICT/.test(d.errorCode);
  return {
    id: crypto.randomUUID(),
    type: 'AlertRaised',
    taskId: deadLetterAlertTaskId(dead.taskId),
    tenantId: dead.tenantId,
    seq: 0,
    prevHashes: [],
    causationId: dead.id,
    correlationId: dead.correlationId,
    occurredAt: now.toISOString(),
    producer,
    policyVersion: dead.policyVersion,
    data: {
      alertId: `dead-letter:${dead.id}`,
      code: 'dead_lettered',
      severity: conflict ? 'critical' : 'warning',
      message: clipText(
        `${d.worker} dead-lettered a message of ${d.originalTopic} [${d.partition}] at offset ${d.offset}: ${d.errorCode}: ${d.errorMessage}`,
        MAX_MESSAGE_CHARS,
      ),
      subject: {
        taskId: dead.taskId,
        tenantId: dead.tenantId,
        worker: d.worker,
        errorCode: d.errorCode,
        deadLetterId: dead.id,
      },
    },
  };
}
