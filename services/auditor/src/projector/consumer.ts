import {
  MAX_ERROR_MESSAGE_CHARS,
  PRODUCER_SIGNATURE_HEADER,
  clipText,
  isWardenError,
  type EventCodec,
} from '@warden/contracts';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { ChainFinding, ProjectedInput, Projection } from './projection.js';
import type { UndecodableDoc } from './store.js';

/** Runs async work one piece at a time (the batch loop and the periodic tick share the in-memory projection). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Options of a projector consumer. */
export interface ProjectorConsumerOptions {
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  readonly projection: Projection;
  readonly topics: readonly string[];
  readonly groupId: string;
  readonly logger: Logger;
  readonly serial: Serial;
  /** Called with the findings of each batch (to raise alerts) before its offsets are committed. */
  readonly onFindings: (findings: readonly ChainFinding[]) => Promise<void>;
  /** Called after each batch is projected (lag measurement). */
  readonly onProjected?: (inputs: readonly ProjectedInput[]) => void;
  /** Called with each batch's partition and high watermark before it is projected (DLQ depth). */
  readonly onBatch?: (topic: string, partition: number, highWatermark: string) => void;
}

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));

/** The group session: a member silent this long is evicted, and what it read is read again by its next life. */
const SESSION_TIMEOUT_MS = 30_000;
/** Heartbeats: between chunks, and on a timer while a chunk is projected (its MongoDB writes can take longer). */
const HEARTBEAT_INTERVAL_MS = 3_000;
/** Projected offsets are committed at most this often (after a chunk), not only at the end of a whole fetch. */
const COMMIT_INTERVAL_MS = 5_000;
/** Messages decoded and projected at once. */
const CHUNK_SIZE = 500;

/**
 * Reads every audit topic from the beginning with its own consumer group and projects each batch. Decoding comes
 * first: a registry or blob store outage throws before anything is applied, nothing is committed and kafkajs retries
 * the batch. A message that can never decode is recorded (never published anywhere: the auditor writes no task
 * events except its alerts) and skipped.
 */
export class ProjectorConsumer {
  private consumer: Consumer | undefined;
  private readonly positions = new Map<string, bigint>();
  /** The group's committed offsets when it started: read (in an earlier life) up to there. */
  private readonly committedAtStart = new Map<string, bigint>();

  constructor(private readonly o: ProjectorConsumerOptions) {}

  /**
   * Next offset to read per `topic|partition`: what has been projected, or, for a partition not read since the
   * start, the offset the group had committed (what an earlier run projected).
   */
  position(topic: string, partition: number): bigint | undefined {
    const key = `${topic}|${partition}`;
    return this.positions.get(key) ?? this.committedAtStart.get(key);
  }

  private advance(topic: string, partition: number, lastOffset: string): void {
    const key = `${topic}|${partition}`;
    const next = BigInt(lastOffset) + 1n;
    if (next > (this.positions.get(key) ?? -1n)) this.positions.set(key, next);
  }

  /** Joins the group and starts consuming; resolves once joined. */
  async start(onCrash: (error: Error) => void): Promise<void> {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.o.logger.error({ err: payload.error, restart: payload.restart }, 'auditor consumer crashed');
      if (!payload.restart) onCrash(payload.error);
    });
    // A fetch of only transaction markers (or aborted records) never reaches eachBatch: kafkajs resolves it itself.
    // The position still moves past it, or a rebuild would wait forever for the offset of a commit marker.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) this.advance(payload.topic, payload.partition, payload.lastOffset);
    });
    await this.readCommitted();
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.o.topics], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommitInterval: COMMIT_INTERVAL_MS,
      eachBatch: (p) => this.eachBatch(p),
    });
    await joined;
  }

  private async readCommitted(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      for (const { topic, partitions } of await admin.fetchOffsets({
        groupId: this.o.groupId,
        topics: [...this.o.topics],
      })) {
        for (const p of partitions) {
          if (BigInt(p.offset) >= 0n) this.committedAtStart.set(`${topic}|${p.partition}`, BigInt(p.offset));
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Stops consuming (finishing the batch in hand) and disconnects. Idempotent. */
  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    await c?.disconnect();
  }

  private async decode(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<ProjectedInput | UndecodableDoc> {
    const source = { topic, partition, offset: message.offset };
    try {
      const decoded = await this.o.codec.decode(message.value);
      const signature = message.headers?.[PRODUCER_SIGNATURE_HEADER];
      return signature === undefined || signature === null
        ? { decoded, source }
        : { decoded, source, producerSignature: signature.toString() };
    } catch (error) {
      if (!isWardenError(error) || error.retryable) throw error;
      return {
        _id: `${topic}|${partition}|${message.offset}`,
        source,
        errorCode: error.code,
        message: clipText(error.message, MAX_ERROR_MESSAGE_CHARS),
        keyBase64: b64(message.key),
        valueBase64: b64(message.value),
      };
    }
  }

  /**
   * Runs one chunk's projection while heartbeating on a timer. Under load (FerretDB shared by every worker) a chunk's
   * writes took longer than the session: the member was evicted, its commit refused, and it read the same batches
   * again and again, falling ever further behind (the 1,000-task soak). A failed heartbeat here is left to the one
   * after the chunk, which ends the batch as kafkajs expects.
   */
  private async keepingSession<T>(payload: EachBatchPayload, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_INTERVAL_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.o.onBatch?.(batch.topic, batch.partition, batch.highWatermark);
    const chunkSize = CHUNK_SIZE;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize);
      const inputs = await this.keepingSession(payload, async () => {
        const decoded = await Promise.all(chunk.map((m) => this.decode(batch.topic, batch.partition, m)));
        const projected = decoded.filter((d): d is ProjectedInput => 'decoded' in d);
        const bad = decoded.filter((d): d is UndecodableDoc => !('decoded' in d));
        await this.o.serial.run(async () => {
          if (bad.length > 0) {
            this.o.logger.warn(
              { topic: batch.topic, count: bad.length, first: bad[0]?._id },
              'undecodable audit messages recorded',
            );
            await this.o.projection.store.insertNew(this.o.projection.store.undecodable, bad);
          }
          const findings = await this.o.projection.apply(projected);
          await this.o.onFindings(findings);
        });
        return projected;
      });
      this.o.onProjected?.(inputs);
      // The last chunk also covers the markers after its last record (producers write in transactions).
      const last = i + chunkSize >= batch.messages.length ? batch.lastOffset() : chunk.at(-1)?.offset;
      if (last !== undefined) {
        payload.resolveOffset(last);
        this.advance(batch.topic, batch.partition, last);
      }
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    }
  }
}
