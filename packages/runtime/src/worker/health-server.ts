import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dependency } from '../infrastructure.js';
import type { DependencyState } from './dependency-monitor.js';
import { WorkerStates, type WorkerState } from './lifecycle.js';

/** What the health endpoints report. */
export interface HealthStatus {
  readonly worker: string;
  readonly state: WorkerState;
  /** Whether the consumer has joined its group. */
  readonly joined: boolean;
  readonly inFlight: number;
  /** Each dependency the worker needs (Kafka, registry, MongoDB): ok or down, why, and since when. */
  readonly dependencies?: Readonly<Partial<Record<Dependency, DependencyState>>>;
  /**
   * Set when the process is wedged (a handling has run far longer than any should: WARDEN_WEDGED_AFTER_MS): what
   * is stuck. Liveness then fails, so the orchestrator restarts the process; an outage alone never does this.
   */
  readonly wedged?: string;
}

/** An answer of a health endpoint: the HTTP status and the JSON body. */
export interface HealthAnswer {
  readonly status: 200 | 503;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Liveness (/livez, /healthz, /health/live): alive while starting, running or draining, outages included (a restart
 * would not bring a dependency back); 503 once stopped or failed, or when the process is wedged.
 */
export function livenessOf(s: HealthStatus): HealthAnswer {
  const alive =
    s.state === WorkerStates.starting || s.state === WorkerStates.running || s.state === WorkerStates.draining;
  const ok = alive && s.wedged === undefined;
  return {
    status: ok ? 200 : 503,
    body: { status: s.state, worker: s.worker, ...(s.wedged === undefined ? {} : { wedged: s.wedged }) },
  };
}

/**
 * Readiness (/readyz, /health/ready): ready only while running with the consumer in its group and every dependency
 * it needs up. The body names each dependency's status, the reason it is down and since when.
 */
export function readinessOf(s: HealthStatus): HealthAnswer {
  const dependencies = s.dependencies ?? {};
  const depsUp = Object.values(dependencies).every((d) => d.status === 'ok');
  const ok = s.state === WorkerStates.running && s.joined && depsUp;
  return {
    status: ok ? 200 : 503,
    body: {
      ready: ok,
      status: s.state,
      joined: s.joined,
      inFlight: s.inFlight,
      ...(s.dependencies === undefined ? {} : { dependencies }),
    },
  };
}

/** The routes of a worker's HTTP server. */
export const HealthRoutes = { live: 'live', ready: 'ready', metrics: 'metrics' } as const;

/** A route of a worker's HTTP server. */
export type HealthRoute = (typeof HealthRoutes)[keyof typeof HealthRoutes];

/** The route of a request path, or undefined (404). */
export function routeOf(url: string): HealthRoute | undefined {
  if (url.startsWith('/livez') || url.startsWith('/healthz') || url.startsWith('/health/live'))
    return HealthRoutes.live;
  if (url.startsWith('/readyz') || url.startsWith('/health/ready')) return HealthRoutes.ready;
  if (url.startsWith('/metrics')) return HealthRoutes.metrics;
  return undefined;
}

/** Options of startHealthServer. */
export interface HealthServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The status now (called on every request). */
  readonly status: () => HealthStatus;
  /** Serves /metrics (the Prometheus text format). */
  readonly metrics: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A worker's running HTTP server. */
export interface HealthServer {
  /** Where it listens. */
  address(): { host: string; port: number } | undefined;
  close(): Promise<void>;
}

/** Serves a worker's liveness, readiness and metrics; resolves once it listens. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const route = routeOf(req.url ?? '/');
    if (route === HealthRoutes.metrics) return options.metrics(req, res);
    if (route === undefined) return void res.writeHead(404).end();
    const answer = route === HealthRoutes.live ? livenessOf(options.status()) : readinessOf(options.status());
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: () => {
      const a = server.address() as AddressInfo | null;
      return a === null ? undefined : { host: a.address, port: a.port };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
