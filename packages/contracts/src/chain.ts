import { randomUUID } from 'node:crypto';
import type { EventType, EventDataInput } from './events.js';
import type { WireEnvelope } from './envelope.js';

/** An event before encoding: envelope metadata plus the data as the producer wrote it. */
export interface EventDraft<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly taskId: string;
  readonly tenantId: string;
  readonly seq: number;
  readonly prevHashes: readonly string[];
  readonly causationId: string | null;
  readonly correlationId: string;
  readonly occurredAt: string;
  readonly producer: string;
  readonly policyVersion: string;
  readonly data: EventDataInput<T>;
}

/** What a follow-up event needs to know about its cause: the cause's envelope and its hash. */
export interface ChainLink {
  readonly envelope: Pick<WireEnvelope, 'id' | 'taskId' | 'tenantId' | 'seq' | 'correlationId' | 'policyVersion'>;
  readonly hash: string;
}

/** Producer metadata stamped on a new event. */
export interface ProducerMeta {
  /** The producing worker, e.g. "planner@0.1.0". */
  readonly producer: string;
  /** Overrides the cause's policy version (the guard stamps its own). */
  readonly policyVersion?: string;
  /** Overrides the generated id (tests, deterministic replays). */
  readonly id?: string;
  /** Overrides the clock. */
  readonly now?: Date;
}

/** Options of the first event of a task. */
export interface NewTaskOptions extends ProducerMeta {
  readonly taskId?: string;
  readonly tenantId: string;
  readonly policyVersion?: string;
}

/** The TaskSubmitted draft that starts a task's chain: seq 0, no previous hashes. */
export function newTask(data: EventDataInput<'TaskSubmitted'>, options: NewTaskOptions): EventDraft<'TaskSubmitted'> {
  const taskId = options.taskId ?? randomUUID();
  // Members in canonical (sorted) order, so that encoding need not copy the envelope to order it.
  return {
    causationId: null,
    correlationId: taskId,
    data,
    id: options.id ?? randomUUID(),
    occurredAt: (options.now ?? new Date()).toISOString(),
    policyVersion: options.policyVersion ?? 'none',
    prevHashes: [],
    producer: options.producer,
    seq: 0,
    taskId,
    tenantId: options.tenantId,
    type: 'TaskSubmitted',
  };
}

/**
 * A draft produced in response to `cause`: same task and tenant, the next seq, the cause's hash in prevHashes
 * and the cause's id as causationId.
 */
export function follow<T extends EventType>(
  cause: ChainLink,
  type: T,
  data: EventDataInput<T>,
  meta: ProducerMeta,
): EventDraft<T> {
  // Members in canonical (sorted) order, as in newTask.
  return {
    causationId: cause.envelope.id,
    correlationId: cause.envelope.correlationId,
    data,
    id: meta.id ?? randomUUID(),
    occurredAt: (meta.now ?? new Date()).toISOString(),
    policyVersion: meta.policyVersion ?? cause.envelope.policyVersion,
    prevHashes: [cause.hash],
    producer: meta.producer,
    seq: cause.envelope.seq + 1,
    taskId: cause.envelope.taskId,
    tenantId: cause.envelope.tenantId,
    type,
  };
}
