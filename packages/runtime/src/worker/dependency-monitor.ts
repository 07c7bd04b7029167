import type { Logger } from 'pino';
import { ALL_DEPENDENCIES, outageReason, type Dependency } from '../infrastructure.js';
import type { OutageReports } from './consume-loop.js';

/** What readiness reports of one dependency. */
export interface DependencyState {
  /** ok: the last probe or operation succeeded; down: it failed; unknown: not probed yet. */
  readonly status: 'ok' | 'down' | 'unknown';
  /** Why it is down (the error's name and message), while it is. */
  readonly reason?: string;
  /** When the status last changed (ISO 8601). */
  readonly since: string;
}

/** A cheap check that a dependency answers; rejects with the reason. It must give up when `signal` aborts. */
export type DependencyProbe = (signal: AbortSignal) => Promise<void>;

/** Options of a DependencyMonitor. */
export interface DependencyMonitorOptions {
  readonly worker: string;
  /** One probe per dependency the worker needs; readiness needs every one of them up. */
  readonly probes: Readonly<Partial<Record<Dependency, DependencyProbe>>>;
  /** How often every dependency is probed (WARDEN_HEALTH_PROBE_INTERVAL_MS). */
  readonly intervalMs: number;
  /** How long one probe may take before the dependency counts as down (WARDEN_HEALTH_PROBE_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /**
   * How many probes in a row must fail before a dependency counts as down (default PROBE_FAILURES_BEFORE_DOWN), so
   * one probe starved of CPU does not flip readiness; an operation that meets an outage marks it down at once.
   */
  readonly probeFailuresBeforeDown?: number;
  /** Where state changes are logged: down at warn, back at info, once per change. */
  readonly logger: Logger;
  /** The wall clock in ms (default Date.now). */
  readonly now?: () => number;
}

/** Probes failed in a row before a dependency counts as down, when the options name no other count. */
export const PROBE_FAILURES_BEFORE_DOWN = 2;

interface Tracked {
  status: DependencyState['status'];
  reason?: string;
  sinceMs: number;
  /** When an operation last reported a failure: a probe that started before it cannot mark the dependency up. */
  lastFailureMs: number;
  /** Probes failed in a row. */
  probeFailures: number;
  probing: boolean;
}

/**
 * The state of a worker's dependencies (Kafka, the schema registry, MongoDB) for readiness and for the consume
 * loop's outage waits: each is probed every intervalMs (never per event), and operations that meet an outage report
 * it at once. Each change of state is logged once, with the reason; an outage does not log a line per retry.
 */
export class DependencyMonitor implements OutageReports {
  private readonly tracked = new Map<Dependency, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: DependencyMonitorOptions) {
    this.now = options.now ?? Date.now;
    for (const dependency of ALL_DEPENDENCIES) {
      if (options.probes[dependency] === undefined) continue;
      this.tracked.set(dependency, {
        status: 'unknown',
        sinceMs: this.now(),
        lastFailureMs: -Infinity,
        probeFailures: 0,
        probing: false,
      });
    }
  }

  /** Probes every dependency now and then every intervalMs, until stop(). Resolves after the first round. */
  async start(): Promise<void> {
    this.timer ??= setInterval(() => void this.probeAll(), this.options.intervalMs);
    this.timer.unref();
    await this.probeAll();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Probes every dependency once (a dependency whose probe is still running is skipped). */
  async probeAll(): Promise<void> {
    await Promise.all([...this.tracked.keys()].map((dependency) => this.probe(dependency)));
  }

  private async probe(dependency: Dependency): Promise<void> {
    const t = this.tracked.get(dependency);
    const probe = this.options.probes[dependency];
    if (t === undefined || probe === undefined || t.probing) return;
    t.probing = true;
    const started = this.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(abort.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new Error(`no answer within ${this.options.timeoutMs} ms`);
            error.name = 'ProbeTimeout';
            reject(error);
            abort.abort(error);
          }, this.options.timeoutMs);
        }),
      ]);
      t.probeFailures = 0;
      if (t.lastFailureMs < started) this.move(dependency, 'ok');
    } catch (error) {
      t.probeFailures++;
      // Never probed yet: the first answer decides, so readiness is known once start() resolves.
      const threshold =
        t.status === 'unknown' ? 1 : (this.options.probeFailuresBeforeDown ?? PROBE_FAILURES_BEFORE_DOWN);
      if (t.probeFailures >= threshold) this.move(dependency, 'down', outageReason(error));
    } finally {
      clearTimeout(timer);
      t.probing = false;
    }
  }

  private move(dependency: Dependency, status: 'ok' | 'down', reason?: string): void {
    const t = this.tracked.get(dependency);
    if (t === undefined) return;
    const at = this.now();
    if (status === 'down') {
      if (reason !== undefined) t.reason = reason;
      if (t.status === 'down') return; // the reason may change; the state does not: no new log line
      this.options.logger.warn(
        { worker: this.options.worker, dependency, reason },
        `${dependency} is down: pausing what needs it until it is back`,
      );
    } else {
      delete t.reason;
      if (t.status === 'ok') return;
      if (t.status === 'down') {
        this.options.logger.info(
          { worker: this.options.worker, dependency, downForMs: at - t.sinceMs },
          `${dependency} is back`,
        );
      }
    }
    t.status = status;
    t.sinceMs = at;
  }

  failed(dependency: Dependency, error: unknown): void {
    const t = this.tracked.get(dependency);
    if (t === undefined) return;
    t.lastFailureMs = this.now();
    this.move(dependency, 'down', outageReason(error));
  }

  served(dependency: Dependency): void {
    this.move(dependency, 'ok');
  }

  isUp(dependency: Dependency): boolean {
    return this.tracked.get(dependency)?.status === 'ok';
  }

  /** Whether every dependency the worker needs is up. */
  allUp(): boolean {
    return [...this.tracked.values()].every((t) => t.status === 'ok');
  }

  /** The state of each dependency, for /readyz. */
  snapshot(): Readonly<Partial<Record<Dependency, DependencyState>>> {
    const out: Partial<Record<Dependency, DependencyState>> = {};
    for (const [dependency, t] of this.tracked) {
      out[dependency] = {
        status: t.status,
        ...(t.reason === undefined ? {} : { reason: t.reason }),
        since: new Date(t.sinceMs).toISOString(),
      };
    }
    return out;
  }
}
