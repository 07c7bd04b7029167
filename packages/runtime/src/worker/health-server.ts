import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkerStates, type WorkerState } from './lifecycle.js';

/** What the health endpoints report. */
export interface HealthStatus {
  readonly worker: string;
  readonly state: WorkerState;
  /** Whether the consumer has joined its group. */
  readonly joined: boolean;
  readonly inFlight: number;
}

/** An answer of a health endpoint: the HTTP status and the JSON body. */
export interface HealthAnswer {
  readonly status: 200 | 503;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Liveness (/healthz, /health/live): alive while starting, running or draining; 503 once stopped or failed. */
export function livenessOf(s: HealthStatus): HealthAnswer {
  const ok = s.state === WorkerStates.starting || s.state === WorkerStates.running || s.state === WorkerStates.draining;
  return { status: ok ? 200 : 503, body: { status: s.state, worker: s.worker } };
}

/** Readiness (/readyz, /health/ready): ready only while running with the consumer in its group. */
export function readinessOf(s: HealthStatus): HealthAnswer {
  const ok = s.state === WorkerStates.running && s.joined;
  return { status: ok ? 200 : 503, body: { ready: ok, status: s.state, joined: s.joined, inFlight: s.inFlight } };
}

/** The routes of a worker's HTTP server. */
export const HealthRoutes = { live: 'live', ready: 'ready', metrics: 'metrics' } as const;

/** A route of a worker's HTTP server. */
export type HealthRoute = (typeof HealthRoutes)[keyof typeof HealthRoutes];

/** The route of a request path, or undefined (404). */
export function routeOf(url: string): HealthRoute | undefined {
  if (url.startsWith('/healthz') || url.startsWith('/health/live')) return HealthRoutes.live;
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
