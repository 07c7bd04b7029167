import {
  MAX_ERROR_MESSAGE_CHARS,
  PRODUCER_SIGNATURE_HEADER,
  clipText,
  isWardenError,
  type EventCodec,
} from '@warden/contracts';
import { groupOffsetsOf } from '@warden/runtime';
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
  /**
   * How often the task summaries are written behind (Projection.flush), after which the offsets of the batches the
   * flush covered are committed. Default DEFAULT_TASK_FLUSH_MS.
   */
  readonly taskFlushMs?: number;
}

/** Task summaries are written behind the event projection at most this often unless told otherwise. */
export const DEFAULT_TASK_FLUSH_MS = 250;

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));

/** The group session: a member silent this long is evicted, and what it read is read again by its next life. */
const SESSION_TIMEOUT_MS = 30_000;
/** Heartbeats: between chunks, and on a timer while a chunk is projected (its MongoDB writes can take longer). */
const HEARTBEAT_INTERVAL_MS = 3_000;
/** Messages decoded and projected at once. */
const CHUNK_SIZE = 500;
/** Partitions whose batches are handled at once (their chunks projected together, see together()). */
const PARTITIONS_CONSUMED_CONCURRENTLY = 8;

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
  /** Offsets projected but not committed yet, each with the projection generation that must be flushed first. */
  private uncommitted: Array<{ topic: string; partition: number; next: string; generation: number }> = [];
  private writer: Promise<void> | undefined;
  /** Chunks handed in by partitions consumed concurrently, projected together (see together()). */
  private waiting: Array<{
    projected: ProjectedInput[];
    bad: UndecodableDoc[];
    resolve: (generation: number) => void;
    reject: (error: unknown) => void;
  }> = [];
  private draining = false;
  private stopping = false;
  private wake: (() => void) | undefined;

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
      // Offsets are committed by the task writer, once the summaries of the batches before them are written: a
      // restart then re-reads whatever a flush had not covered, and the projection on disk is never behind them.
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: (p) => this.eachBatch(p),
    });
    await joined;
    this.writer = this.writeBehind();
  }

  /** The task writer: every taskFlushMs, writes the task summaries moved since, then commits what that covered. */
  private async writeBehind(): Promise<void> {
    const interval = this.o.taskFlushMs ?? DEFAULT_TASK_FLUSH_MS;
    let lastFlushMs = 0;
    while (!this.stopping) {
      // Paced: it waits at least as long as the last flush took, so that under load the summaries take at most about
      // half of the store's time (on FerretDB each replace scans the collection), the events' inserts the rest; a
      // task that moves meanwhile is written once for all its moves.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(interval, lastFlushMs));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.stopping) return;
      const started = Date.now();
      await this.flushAndCommit().catch((error: unknown) =>
        this.o.logger.warn({ err: error }, 'auditor: writing task summaries failed; tried again at the next flush'),
      );
      lastFlushMs = Date.now() - started;
    }
  }

  /** Writes the task summaries not written yet and commits the offsets of the batches that covered. */
  async flushAndCommit(): Promise<void> {
    const covered = await this.o.projection.flush();
    const ready = this.uncommitted.filter((u) => u.generation <= covered);
    if (ready.length === 0 || this.consumer === undefined) return;
    this.uncommitted = this.uncommitted.filter((u) => u.generation > covered);
    const latest = new Map<string, { topic: string; partition: number; offset: string }>();
    for (const u of ready) {
      const key = `${u.topic}|${u.partition}`;
      const had = latest.get(key);
      if (had === undefined || BigInt(u.next) > BigInt(had.offset)) {
        latest.set(key, { topic: u.topic, partition: u.partition, offset: u.next });
      }
    }
    try {
      await this.consumer.commitOffsets([...latest.values()]);
    } catch (error) {
      // A rebalance or a broker outage: committed with the next flush (or re-read, idempotently, by the next owner).
      this.uncommitted.unshift(...ready);
      throw error;
    }
  }

  private async readCommitted(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      for (const { topic, partitions } of await groupOffsetsOf(admin, this.o.groupId, this.o.topics)) {
        for (const p of partitions) {
          if (BigInt(p.offset) >= 0n) this.committedAtStart.set(`${topic}|${p.partition}`, BigInt(p.offset));
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Stops consuming: no new chunk is started, the chunk in hand finishes, the task summaries are written and what they
   * cover committed, then it disconnects. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.writer;
    this.writer = undefined;
    const c = this.consumer;
    if (c === undefined) return;
    await this.o.serial.run(() => Promise.resolve());
    await this.flushAndCommit().catch((error: unknown) =>
      this.o.logger.warn({ err: error }, 'auditor: last write of task summaries failed; re-read at the next start'),
    );
    this.consumer = undefined;
    await c.disconnect();
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

  /**
   * Projects a chunk together with the chunks other partitions hand in meanwhile: one insert of events for all of
   * them (on FerretDB an insert costs 5-30 ms whatever its size up to hundreds of events, and a fetch brings a batch
   * per partition). Resolves with the projection's generation once applied and its findings raised; a failure fails
   * every chunk of the group (each batch is then read again).
   */
  private together(projected: ProjectedInput[], bad: UndecodableDoc[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.waiting.push({ projected, bad, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      try {
        const generation = await this.o.serial.run(async () => {
          const bad = group.flatMap((g) => g.bad);
          if (bad.length > 0) {
            this.o.logger.warn(
              { topics: [...new Set(bad.map((b) => b.source.topic))], count: bad.length, first: bad[0]?._id },
              'undecodable audit messages recorded',
            );
            await this.o.projection.store.insertNew(this.o.projection.store.undecodable, bad);
          }
          const findings = await this.o.projection.apply(group.flatMap((g) => g.projected));
          const applied = this.o.projection.generation();
          await this.o.onFindings(findings);
          return applied;
        });
        for (const g of group) g.resolve(generation);
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
    this.draining = false;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.o.onBatch?.(batch.topic, batch.partition, batch.highWatermark);
    const chunkSize = CHUNK_SIZE;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (this.stopping || !payload.isRunning() || payload.isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize);
      let generation = 0;
      const inputs = await this.keepingSession(payload, async () => {
        const decoded = await Promise.all(chunk.map((m) => this.decode(batch.topic, batch.partition, m)));
        const projected = decoded.filter((d): d is ProjectedInput => 'decoded' in d);
        const bad = decoded.filter((d): d is UndecodableDoc => !('decoded' in d));
        generation = await this.together(projected, bad);
        return projected;
      });
      this.o.onProjected?.(inputs);
      // The last chunk also covers the markers after its last record (producers write in transactions).
      const last = i + chunkSize >= batch.messages.length ? batch.lastOffset() : chunk.at(-1)?.offset;
      if (last !== undefined) {
        payload.resolveOffset(last);
        this.advance(batch.topic, batch.partition, last);
        const next = (BigInt(last) + 1n).toString();
        this.uncommitted.push({ topic: batch.topic, partition: batch.partition, next, generation });
      }
      await payload.heartbeat();
    }
  }
}
