import { describe, expect, it } from 'vitest';
import { WorkerStates, type WorkerState } from '@warden/runtime';
import { livenessOf, readinessOf, routeOf, startHealthServer, type HealthStatus } from '../src/worker/health-server.js';

const status = (state: WorkerState, joined = true): HealthStatus => ({ worker: 'echo', state, joined, inFlight: 2 });

describe("a worker's health endpoints", () => {
  it.each([
    ['created', 503],
    ['starting', 200],
    ['running', 200],
    ['draining', 200],
    ['stopped', 503],
    ['failed', 503],
  ] as const)('liveness in state %s answers %d', (state, code) => {
    expect(livenessOf(status(state))).toEqual({ status: code, body: { status: state, worker: 'echo' } });
  });

  it('is ready only while running with the consumer in its group', () => {
    expect(readinessOf(status('running'))).toEqual({
      status: 200,
      body: { ready: true, status: 'running', joined: true, inFlight: 2 },
    });
    expect(readinessOf(status('running', false)).status).toBe(503);
    for (const state of Object.values(WorkerStates).filter((s) => s !== 'running')) {
      expect(readinessOf(status(state)).body.ready).toBe(false);
    }
  });

  it('is not ready while a dependency is down, and says which, why and since when', () => {
    const since = '2026-12-04T10:00:00.000Z';
    const dependencies = {
      kafka: { status: 'ok', since },
      registry: { status: 'ok', since },
      mongo: { status: 'down', reason: 'MongoNetworkError: connect ECONNREFUSED', since },
    } as const;
    const answer = readinessOf({ ...status('running'), dependencies });
    expect(answer).toEqual({
      status: 503,
      body: { ready: false, status: 'running', joined: true, inFlight: 2, dependencies },
    });
    const up = { ...dependencies, mongo: { status: 'ok', since } } as const;
    expect(readinessOf({ ...status('running'), dependencies: up }).status).toBe(200);
    // an outage is not a reason to restart the process: liveness holds
    expect(livenessOf({ ...status('running'), dependencies }).status).toBe(200);
  });

  it('fails liveness only when the process is wedged', () => {
    const wedged = "one event's handling has run 700000 ms (limit 600000 ms)";
    expect(livenessOf({ ...status('running'), wedged })).toEqual({
      status: 503,
      body: { status: 'running', worker: 'echo', wedged },
    });
  });

  it('routes the Kubernetes and the conventional paths', () => {
    expect(
      ['/livez', '/healthz', '/health/live', '/readyz?x=1', '/health/ready', '/metrics', '/', '/ready'].map(routeOf),
    ).toEqual(['live', 'live', 'live', 'ready', 'ready', 'metrics', undefined, undefined]);
  });

  it('serves them over HTTP, reading the status on each request', async () => {
    let state: WorkerState = 'starting';
    const server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      status: () => status(state),
      metrics: (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('warden_x 1\n'),
    });
    try {
      const { host, port } = server.address()!;
      const get = async (path: string) => {
        const res = await fetch(`http://${host}:${port}${path}`);
        return [res.status, await res.text()] as const;
      };
      expect(await get('/readyz')).toEqual([503, JSON.stringify(readinessOf(status('starting')).body)]);
      state = 'running';
      expect((await get('/readyz'))[0]).toBe(200);
      expect(await get('/healthz')).toEqual([200, '{"status":"running","worker":"echo"}']);
      expect(await get('/metrics')).toEqual([200, 'warden_x 1\n']);
      expect((await get('/nothing'))[0]).toBe(404);
    } finally {
      await server.close();
    }
    expect(server.address()).toBeUndefined();
  });
});
