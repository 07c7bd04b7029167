/**
 * The floor of agent-step (issue 17): a raw kafkajs transactional consume-produce hop, ping-ponged between two relays
 * (read_committed consumers; the output and the consumed offset in one transaction, as the workers commit). A relay
 * pair stays up for the whole run and is driven in rounds (`run`), so that the bench can measure the floor between
 * its tasks, on the same machine at the same moment as the hops it is compared with.
 */
import { randomUUID } from 'node:crypto';
import {
  coordinatorLookups,
  createKafka,
  ensureTopics,
  installCoordinatorLookups,
  type WorkerRuntimeConfig,
} from '@warden/runtime';
import { waitUntil } from '@warden/runtime/testing';
import type { EachMessagePayload, Producer } from 'kafkajs';
import { pino } from 'pino';

/**
 * What a floor relay's transaction carries besides the hop's one message: `events` more messages on a second topic
 * and `stateRecords` on a compacted third, each of SHAPE_RECORD_BYTES, as a worker's transaction carries the events
 * of its handling (the planner's model call and budget records with its proposal) and its changelog's records.
 */
export interface TransactionShape {
  readonly name: string;
  readonly events: number;
  readonly stateRecords: number;
}

/** The raw floor: the hop's one message and nothing else (issue 17's floor). */
export const RAW: TransactionShape = { name: 'raw', events: 0, stateRecords: 0 };
/** About the size of a worker's event or state record (a proposal's envelope is 1-2 KB). */
export const SHAPE_RECORD_BYTES = 1_500;

/**
 * Work a relay does by hand before its transaction, as a worker's handling does before its own (the executor's
 * effect ledger: the intent durable before the effect, the outcome after it). Called with the hop's number.
 */
export type HandWork = (hop: number) => Promise<void>;

/** How a relay's producers find their coordinators: kafkajs's four lookups per transaction, or the runtime's one. */
export type FloorLookups = 'kafkajs' | 'per-transaction';

/** A floor's hops, and each split into its transaction (send, offsets, commit) and the rest (the fetch), in ms. */
export interface Floor {
  readonly hops: number[];
  readonly commits: number[];
  readonly fetches: number[];
}

/** Two relays passing a counter back and forth, each hop one transaction; run in rounds, measured throughout. */
export class FloorRelay {
  private readonly floor: { hops: number[]; commits: number[]; fetches: number[] } = {
    hops: [],
    commits: [],
    fetches: [],
  };
  private readonly stops: Array<() => Promise<void>> = [];
  private starter: Producer | undefined;
  private round = 0;
  /** The topic a round starts on. */
  private floorTopic = '';
  /** The current round: its number, where it stops, the hops it has seen, and the pause before each transaction. */
  private current = { round: 0, last: 0, seen: 0, pauseMs: 0 };

  private constructor(
    private readonly config: WorkerRuntimeConfig,
    readonly shape: TransactionShape,
    private readonly handWork: HandWork | undefined,
    private readonly name: string,
    private readonly lookups: FloorLookups,
  ) {}

  /**
   * Starts a relay pair of `shape` (topics `<prefix>.floor-<name>-*`), with `handWork` before each transaction.
   * `lookups`: kafkajs's own (the default: issue 17's raw floor), or the runtime's one per transaction, as the workers'
   * transactions send them (ADR 0036).
   */
  static async start(
    config: WorkerRuntimeConfig,
    shape: TransactionShape = RAW,
    handWork?: { readonly name: string; readonly work: HandWork },
    lookups: FloorLookups = 'kafkajs',
  ): Promise<FloorRelay> {
    const name = `${shape.name}${handWork ? `-${handWork.name}` : ''}`;
    const relay = new FloorRelay(config, shape, handWork?.work, name, lookups);
    await relay.open();
    return relay;
  }

  private async open(): Promise<void> {
    const { config } = this;
    const kafka = createKafka(config.brokers, 'bench-floor', pino({ level: 'error' }), config.kafkaSecurity);
    const name = (part: string): string => `${config.topicPrefix}.floor-${this.name}-${part}`;
    const [a, b, events, state] = [name('a'), name('b'), name('events'), name('state')];
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [a, b, events], { partitions: 1 });
    await ensureTopics(admin, [state], { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    await admin.disconnect();
    const padding = Buffer.alloc(SHAPE_RECORD_BYTES, 'x');
    const { shape } = this;
    const extra = [
      ...(shape.events === 0
        ? []
        : [{ topic: events, messages: Array.from({ length: shape.events }, () => ({ key: 'k', value: padding })) }]),
      ...(shape.stateRecords === 0
        ? []
        : [
            {
              topic: state,
              messages: Array.from({ length: shape.stateRecords }, () => ({ key: 'k', value: padding })),
            },
          ]),
    ];
    /** By round and hop: how long the transaction that published it took. */
    const commitMs = new Map<string, number>();
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const groupId = `${from}.relay`;
      const transactionalId = `${groupId}|${randomUUID()}`;
      const perTransaction = this.lookups === 'per-transaction' && installCoordinatorLookups();
      if (perTransaction) coordinatorLookups.register(transactionalId);
      const producer = kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      const consumer = kafka.consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topic: from, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }: EachMessagePayload) => {
          const [round, hop] = String(message.value).split(':').map(Number) as [number, number];
          const now = Date.now();
          if (round === this.current.round) {
            this.current.seen = Math.max(this.current.seen, hop);
            // Hop 0 crosses from the round's starter, not from a relay: not kept.
            if (hop > 0) {
              const ms = now - Number(message.timestamp);
              const commit = commitMs.get(`${round}:${hop}`) ?? 0;
              this.floor.hops.push(ms);
              this.floor.commits.push(commit);
              this.floor.fetches.push(ms - commit);
            }
          }
          const next = hop + 1;
          if (round !== this.current.round || hop >= this.current.last) return; // the round is over
          // A paced round waits before the hop it sends, and that hop counts from after the wait.
          const pauseMs = this.current.pauseMs;
          if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          const sentFrom = pauseMs > 0 ? Date.now() : now;
          await this.handWork?.(round * 1_000_000 + next);
          const began = performance.now();
          if (perTransaction) coordinatorLookups.beginTransaction(transactionalId);
          const txn = await producer.transaction();
          await txn.sendBatch({
            topicMessages: [
              { topic: to, messages: [{ key: 'k', value: `${round}:${next}`, timestamp: String(sentFrom) }] },
              ...extra,
            ],
          });
          await txn.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic: from, partitions: [{ partition, offset: String(Number(message.offset) + 1) }] }],
          });
          await txn.commit();
          commitMs.set(`${round}:${next}`, performance.now() - began);
        },
      });
      this.stops.push(async () => {
        await consumer.disconnect();
        await producer.disconnect();
        coordinatorLookups.forget(transactionalId);
      });
    }
    this.floorTopic = a;
    this.starter = kafka.producer({ transactionalId: name(`start-${randomUUID()}`), idempotent: true });
    await this.starter.connect();
    this.stops.push(() => this.starter!.disconnect());
  }

  /** Starts a round that ends after hop `last`, pausing `pauseMs` before each transaction. */
  private async startRound(last: number, pauseMs: number): Promise<void> {
    this.round++;
    this.current = { round: this.round, last, seen: 0, pauseMs };
    const txn = await this.starter!.transaction();
    await txn.send({
      topic: this.floorTopic,
      messages: [{ key: 'k', value: `${this.round}:0`, timestamp: String(Date.now()) }],
    });
    await txn.commit();
  }

  /** Runs one round of `hops` kept hops and waits for its end. */
  async run(hops: number): Promise<void> {
    await this.startRound(hops, 0);
    await waitUntil(() => this.current.seen >= this.current.last, {
      timeoutMs: 120_000,
      what: `floor round ${this.round}`,
    });
  }

  /**
   * Runs one round for as long as `meanwhile` takes, a hop every `pauseMs` plus the hop's own time, and ends it when
   * that settles: a floor measured while something else runs on the same machine and broker (agent-step's tasks).
   */
  async runDuring<T>(meanwhile: Promise<T>, pauseMs: number): Promise<T> {
    await this.startRound(Number.MAX_SAFE_INTEGER, pauseMs);
    try {
      return await meanwhile;
    } finally {
      this.current = { ...this.current, last: this.current.seen }; // the hop in flight is the round's last
    }
  }

  /** Forgets what was measured so far (after a warm-up round). */
  reset(): void {
    for (const samples of Object.values(this.floor)) samples.length = 0;
  }

  /** Every kept hop so far. */
  measured(): Floor {
    return { hops: [...this.floor.hops], commits: [...this.floor.commits], fetches: [...this.floor.fetches] };
  }

  async stop(): Promise<void> {
    for (const stop of this.stops) await stop();
  }
}
