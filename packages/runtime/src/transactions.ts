import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { TRANSACTION_RETRY } from './config.js';
import { coordinatorLookups, installCoordinatorLookups } from './coordinator-lookups.js';
import { PublishError } from './errors.js';
import { groupOffsetsOf } from './log-reader.js';
import { producerConfig, sendAll, type OutgoingMessage } from './publisher.js';

/** What acquire() found: the partition's producer and, when it was just created, the group's committed offset. */
export interface AcquiredPartition {
  readonly producer: Producer;
  /** The committed offset read after fencing (only on the first acquire since the partition was assigned). */
  readonly committedOffset?: bigint;
}

/**
 * Exactly-once consume-transform-produce on Kafka transactions (ADR 0009): one transactional producer per consumed
 * partition, with `transactional.id = <group>|<topic>|<partition>`. A chunk's outputs and the consumed offsets are
 * committed in one transaction, so a crash, a rebalance or a failed send leaves neither visible to read_committed
 * readers, and the chunk is handled again.
 *
 * The id is the same for whichever replica owns the partition, so a new owner's first transaction fences the old
 * owner (a zombie's commit fails) and aborts its open transaction. Only then is the committed offset read, so
 * it is final: the caller skips what an earlier owner already committed.
 */
export class PartitionTransactions {
  private readonly producers = new Map<string, Producer>();
  /** Committed offsets read by fence(), handed to the first acquire() of the partition that follows. */
  private readonly fencedOffsets = new Map<string, bigint | undefined>();
  /**
   * Producers being created (connected and fenced), by partition: a fence() and an acquire() of one partition at
   * the same moment (a state restore at the group join, and the partition's first chunk) share one creation. Two
   * would each bump the transactional id's epoch, and the chunk could be left holding the fenced one: its commit
   * fails and the chunk is handled again, with whatever it did outside Kafka (a model call) done twice.
   */
  private readonly creating = new Map<string, Promise<AcquiredPartition>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly transactionTimeoutMs: number,
    private readonly logger: Logger,
    options: { readonly coordinatorLookups?: 'per-transaction' | 'kafkajs' } = {},
  ) {
    // One FindCoordinator per transaction instead of four (ADR 0036), unless kafkajs's own lookups are asked for.
    this.lookupsPerTransaction = options.coordinatorLookups !== 'kafkajs' && installCoordinatorLookups();
    if (options.coordinatorLookups !== 'kafkajs' && !this.lookupsPerTransaction)
      logger.warn('this kafkajs has no coordinator lookup to route: four per transaction, as kafkajs sends them');
  }

  /** Whether this member's producers are registered with the runtime's coordinator lookups (ADR 0036). */
  private readonly lookupsPerTransaction: boolean;

  /** The transactional id of a partition's producer (`<group>|<topic>|<partition>`), from its key `<topic>|<partition>`. */
  private transactionalIdOf(key: string): string {
    return `${this.groupId}|${key}`;
  }

  /** The transactional producer of a partition, created and fenced on first use. */
  async acquire(topic: string, partition: number): Promise<AcquiredPartition> {
    const key = `${topic}|${partition}`;
    const held = this.producers.get(key);
    if (held !== undefined) {
      if (!this.fencedOffsets.has(key)) return { producer: held };
      const committedOffset = this.fencedOffsets.get(key);
      this.fencedOffsets.delete(key);
      return committedOffset === undefined ? { producer: held } : { producer: held, committedOffset };
    }
    const creating = this.creating.get(key);
    if (creating !== undefined) {
      await creating; // then held, with what a fence() that created it read
      return this.acquire(topic, partition);
    }
    return this.create(topic, partition, false);
  }

  /**
   * Fences the partition's earlier holders now (a state store does it for every consumed topic of a partition
   * number before it restores from its changelog, so that no zombie commits to the changelog after the restore).
   * The committed offset read after the fence is handed to the next acquire(), as if it had fenced.
   */
  async fence(topic: string, partition: number): Promise<void> {
    const key = `${topic}|${partition}`;
    if (this.producers.has(key)) return;
    const creating = this.creating.get(key);
    if (creating !== undefined) {
      await creating; // an acquire() is creating it: it fences, and it reads the offset for itself
      return;
    }
    await this.create(topic, partition, true);
  }

  /** The partition's producer if this member holds one (fenced), without touching what acquire() hands over. */
  held(topic: string, partition: number): Producer | undefined {
    return this.producers.get(`${topic}|${partition}`);
  }

  /** Creates the partition's producer once at a time; `handOver`: its committed offset goes to the next acquire(). */
  private create(topic: string, partition: number, handOver: boolean): Promise<AcquiredPartition> {
    const key = `${topic}|${partition}`;
    const creating = this.createNow(topic, partition)
      .then((created) => {
        if (handOver) this.fencedOffsets.set(key, created.committedOffset);
        return created;
      })
      .finally(() => this.creating.delete(key));
    this.creating.set(key, creating);
    return creating;
  }

  private async createNow(topic: string, partition: number): Promise<AcquiredPartition> {
    const key = `${topic}|${partition}`;
    const transactionalId = this.transactionalIdOf(key);
    if (this.lookupsPerTransaction) coordinatorLookups.register(transactionalId);
    const producer = this.kafka.producer({
      ...producerConfig,
      transactionalId,
      transactionTimeout: this.transactionTimeoutMs,
      // kafkajs retries the coordinator's CONCURRENT_TRANSACTIONS right after a commit: see TRANSACTION_RETRY.
      retry: { initialRetryTime: TRANSACTION_RETRY.initialRetryTimeMs, maxRetryTime: TRANSACTION_RETRY.maxRetryTimeMs },
    });
    await producer.connect();
    try {
      // InitProducerId for this transactional id: bumps its epoch, which fences any earlier holder and aborts
      // (or completes) its open transaction. kafkajs sends it at the first transaction; an empty one costs no EndTxn.
      const fence = await producer.transaction();
      await fence.abort();
      const [offsets] = await groupOffsetsOf(this.admin, this.groupId, [topic]);
      const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset;
      this.producers.set(key, producer);
      return {
        producer,
        ...(committed === undefined || committed === '-1' ? {} : { committedOffset: BigInt(committed) }),
      };
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Publishes `messages` and commits `nextOffset` for the consumed partition in one transaction. On any failure the
   * transaction is aborted, the producer dropped (the next acquire fences again and re-reads the committed offset)
   * and a PublishError thrown, so nothing of the chunk counts.
   */
  async commit(
    producer: Producer,
    consumed: {
      readonly topic: string;
      readonly partition: number;
      /** Absent: a transaction of outputs alone (a state store's wake-up, which consumed nothing). */
      readonly nextOffset?: string;
    },
    messages: readonly OutgoingMessage[],
  ): Promise<void> {
    if (this.lookupsPerTransaction)
      coordinatorLookups.beginTransaction(this.transactionalIdOf(`${consumed.topic}|${consumed.partition}`));
    const txn = await producer.transaction();
    try {
      await sendAll(txn, messages);
      if (consumed.nextOffset !== undefined)
        await txn.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [
            { topic: consumed.topic, partitions: [{ partition: consumed.partition, offset: consumed.nextOffset }] },
          ],
        });
      await txn.commit();
    } catch (error) {
      if (txn.isActive()) await txn.abort().catch(() => undefined);
      await this.drop(`${consumed.topic}|${consumed.partition}`);
      if (error instanceof PublishError) throw error;
      throw new PublishError(
        `transaction for ${consumed.topic}[${consumed.partition}] failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Closes the producers of partitions this member no longer owns. */
  async retain(assignment: Readonly<Record<string, readonly number[]>>): Promise<void> {
    const owned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}|${p}`)));
    await Promise.all([...this.producers.keys()].filter((k) => !owned.has(k)).map((k) => this.drop(k)));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((k) => this.drop(k)));
  }

  private async drop(key: string): Promise<void> {
    const producer = this.producers.get(key);
    if (producer === undefined) return;
    this.producers.delete(key);
    this.fencedOffsets.delete(key);
    coordinatorLookups.forget(this.transactionalIdOf(key));
    await producer
      .disconnect()
      .catch((error: unknown) => this.logger.warn({ err: error, key }, 'producer close failed'));
  }
}
