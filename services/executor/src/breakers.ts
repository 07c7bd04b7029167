import { MAX_ID_CHARS, MAX_NOTE_CHARS } from '@warden/contracts';
import { ensureTopics, jsonOrUndefined } from '@warden/runtime';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ToolRefusedError } from './errors.js';

/** Thresholds of every tool breaker. */
export interface BreakerSettings {
  /** Opens when the failure rate over the rolling window exceeds this percentage (once volumeThreshold calls ran). */
  readonly errorThresholdPercent: number;
  readonly rollingWindowMs: number;
  readonly rollingBuckets: number;
  /** Calls in the window before the rate counts. */
  readonly volumeThreshold: number;
  /** Opens after this many failures in a row, whatever the rate. */
  readonly consecutiveFailures: number;
  /** Time open before one half-open probe is let through. */
  readonly resetTimeoutMs: number;
}

/** A breaker's state as every replica shares it (a compacted topic keyed by tool name; not an audit event). */
export const SharedBreakerState = z.object({
  tool: z.string().min(1).max(MAX_ID_CHARS),
  state: z.enum(['open', 'closed']),
  replicaId: z.string().min(1).max(MAX_ID_CHARS),
  at: z.iso.datetime(),
  reason: z.string().max(MAX_NOTE_CHARS),
});
/** A breaker's shared state. */
export type SharedBreakerState = z.infer<typeof SharedBreakerState>;

/** Where breaker changes go so that other replicas follow them. */
export interface BreakerStateSink {
  publish(state: SharedBreakerState): Promise<void>;
}

/** What a call did to its breaker, for the audit events its handler publishes. */
export type BreakerTransition =
  | {
      readonly kind: 'opened';
      readonly reason: string;
      readonly consecutiveFailures: number;
      readonly errorRate: number;
    }
  | { readonly kind: 'closed'; readonly reason: string };

/** The result of a call through a breaker. */
export type BreakerCall<T> =
  | { readonly ok: true; readonly value: T; readonly transition?: BreakerTransition }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly rejected: boolean;
      readonly transition?: BreakerTransition;
    };

interface Token {
  transition?: BreakerTransition;
}

type Action = (token: Token, call: () => Promise<unknown>) => Promise<unknown>;

interface Entry {
  readonly breaker: CircuitBreaker<[Token, () => Promise<unknown>], unknown>;
  consecutive: number;
  failingToken: Token | undefined;
  applyingRemote: boolean;
}

/**
 * One opossum breaker per tool, with two ways to open: the failure rate over a rolling window (opossum's own), and
 * a run of consecutive failures (counted here). A success ends a run but does not clear the window, so a flapping
 * tool still opens on its rate. After resetTimeoutMs one probe goes through (half-open): success closes,
 * failure opens again. Changes made here are sent to the sink; changes from other replicas are applied with
 * applyRemote() without being sent back.
 */
export class ToolBreakers {
  private readonly entries = new Map<string, Entry>();
  private readonly transitionListeners: Array<(tool: string, to: 'open' | 'halfOpen' | 'closed') => void> = [];

  constructor(
    private readonly settings: BreakerSettings,
    private readonly replicaId: string,
    private readonly logger: Logger,
    private sink?: BreakerStateSink,
  ) {}

  /** Sets where local changes go (once the shared topic is connected). */
  connect(sink: BreakerStateSink): void {
    this.sink = sink;
  }

  /** The state of a tool's breaker. */
  state(tool: string): 'closed' | 'open' | 'halfOpen' {
    const b = this.entries.get(tool)?.breaker;
    if (b === undefined || b.closed) return 'closed';
    return b.halfOpen ? 'halfOpen' : 'open';
  }

  /** The state of every tool's breaker seen so far. */
  *states(): IterableIterator<readonly [string, 'closed' | 'open' | 'halfOpen']> {
    for (const tool of this.entries.keys()) yield [tool, this.state(tool)] as const;
  }

  /** Calls `listener` on every state change of any tool's breaker, a peer's included (metrics). */
  onTransition(listener: (tool: string, to: 'open' | 'halfOpen' | 'closed') => void): void {
    this.transitionListeners.push(listener);
  }

  private transitioned(tool: string, to: 'open' | 'halfOpen' | 'closed'): void {
    for (const l of this.transitionListeners) l(tool, to);
  }

  /** True when a call would be let through (closed, or the half-open probe not taken yet). */
  allows(tool: string): boolean {
    const b = this.entry(tool).breaker;
    return b.closed || b.pendingClose;
  }

  /** Runs `call` through the tool's breaker. */
  async fire<T>(tool: string, call: () => Promise<T>): Promise<BreakerCall<T>> {
    const entry = this.entry(tool);
    const token: Token = {};
    const probe = entry.breaker.halfOpen;
    try {
      const value = (await entry.breaker.fire(token, call)) as T;
      if (probe && entry.breaker.closed) {
        token.transition = { kind: 'closed', reason: `half-open probe of ${tool} succeeded` };
      }
      return { ok: true, value, ...(token.transition === undefined ? {} : { transition: token.transition }) };
    } catch (error) {
      const rejected = (error as { code?: unknown }).code === 'EOPENBREAKER';
      return {
        ok: false,
        error,
        rejected,
        ...(token.transition === undefined ? {} : { transition: token.transition }),
      };
    }
  }

  /** Follows another replica's change. */
  applyRemote(state: SharedBreakerState): void {
    if (state.replicaId === this.replicaId) return;
    const entry = this.entry(state.tool);
    const age = Date.now() - Date.parse(state.at);
    entry.applyingRemote = true;
    try {
      if (state.state === 'open' && age < this.settings.resetTimeoutMs && !entry.breaker.opened) {
        this.logger.warn({ tool: state.tool, by: state.replicaId, reason: state.reason }, 'breaker opened by a peer');
        entry.breaker.open();
      } else if (state.state === 'closed' && !entry.breaker.closed) {
        this.logger.info({ tool: state.tool, by: state.replicaId }, 'breaker closed by a peer');
        entry.consecutive = 0;
        entry.breaker.close();
      }
    } finally {
      entry.applyingRemote = false;
    }
  }

  /** Stops every breaker's timers. */
  shutdown(): void {
    for (const e of this.entries.values()) e.breaker.shutdown();
  }

  private entry(tool: string): Entry {
    const existing = this.entries.get(tool);
    if (existing !== undefined) return existing;
    const s = this.settings;
    const action: Action = (_token, call) => call();
    const breaker = new CircuitBreaker<[Token, () => Promise<unknown>], unknown>(action, {
      name: tool,
      // The executor cancels each call itself through its own AbortController; opossum's timeout would only stop
      // waiting (and its shared abortController would cancel every concurrent call of the tool).
      timeout: false,
      errorThresholdPercentage: s.errorThresholdPercent,
      rollingCountTimeout: s.rollingWindowMs,
      rollingCountBuckets: s.rollingBuckets,
      volumeThreshold: s.volumeThreshold,
      resetTimeout: s.resetTimeoutMs,
      allowWarmUp: false,
      // A refusal (path outside the workspace, host not allowed) says nothing about the tool's health.
      errorFilter: (error: unknown) => error instanceof ToolRefusedError,
    });
    const entry: Entry = { breaker, consecutive: 0, failingToken: undefined, applyingRemote: false };
    breaker.on('failure', (_error: unknown, _latency: number, args: unknown) => {
      entry.consecutive++;
      entry.failingToken = (args as [Token] | undefined)?.[0];
      if (entry.consecutive >= s.consecutiveFailures && !breaker.opened) breaker.open();
    });
    breaker.on('success', () => {
      entry.consecutive = 0;
    });
    breaker.on('open', () => {
      this.transitioned(tool, 'open');
      const stats = breaker.stats;
      const errorRate = stats.fires === 0 ? 0 : Math.min(1, stats.failures / stats.fires);
      if (entry.applyingRemote) return;
      const reason =
        entry.consecutive >= s.consecutiveFailures
          ? `${entry.consecutive} consecutive failures of ${tool}`
          : `${tool} failed ${(errorRate * 100).toFixed(0)}% of ${stats.fires} calls in the last ${s.rollingWindowMs} ms`;
      const transition: BreakerTransition = {
        kind: 'opened',
        reason,
        consecutiveFailures: entry.consecutive,
        errorRate,
      };
      if (entry.failingToken !== undefined) entry.failingToken.transition = transition;
      entry.failingToken = undefined;
      this.logger.warn({ tool, reason }, 'breaker opened');
      this.share(tool, 'open', reason);
    });
    breaker.on('halfOpen', () => {
      this.transitioned(tool, 'halfOpen');
      this.logger.info({ tool }, 'breaker half-open: next call is a probe');
    });
    breaker.on('close', () => {
      this.transitioned(tool, 'closed');
      entry.consecutive = 0;
      if (entry.applyingRemote) return;
      this.logger.info({ tool }, 'breaker closed');
      this.share(tool, 'closed', `half-open probe of ${tool} succeeded`);
    });
    this.entries.set(tool, entry);
    return entry;
  }

  private share(tool: string, state: 'open' | 'closed', reason: string): void {
    const sink = this.sink;
    if (sink === undefined) return;
    sink
      .publish({ tool, state, replicaId: this.replicaId, at: new Date().toISOString(), reason })
      .catch((error: unknown) => this.logger.error({ err: error, tool, state }, 'could not share breaker state'));
  }
}

/** The compacted topic carrying breaker states: `<prefix>.breakers.v1`. */
export const breakerTopic = (prefix: string): string => `${prefix}.breakers.v1`;

/**
 * Shares breaker states between replicas through a compacted topic keyed by tool name: each replica reads it from
 * the beginning with its own consumer group (so it starts with the latest state of every tool) and applies what
 * the others wrote.
 */
export class BreakerSync implements BreakerStateSink {
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly breakers: ToolBreakers,
    private readonly replicaId: string,
    private readonly logger: Logger,
  ) {}

  /** Creates the topic if needed, starts following it and connects the breakers to it. */
  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [this.topic], {
        partitions: 1,
        configs: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'retention.bytes': '-1' },
      });
    } finally {
      await admin.disconnect();
    }
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    const consumer = this.kafka.consumer({
      groupId: `${this.topic}.${this.replicaId}`,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const parsed = SharedBreakerState.safeParse(jsonOrUndefined(message.value?.toString('utf8')));
        if (!parsed.success) {
          this.logger.warn(
            { offset: message.offset, issues: parsed.error.issues },
            'ignored a malformed breaker state',
          );
          return Promise.resolve();
        }
        this.breakers.applyRemote(parsed.data);
        return Promise.resolve();
      },
    });
    this.breakers.connect(this);
  }

  async publish(state: SharedBreakerState): Promise<void> {
    if (this.producer === undefined) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: state.tool, value: JSON.stringify(state) }],
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }
}
