import { MongoNetworkError } from 'mongodb';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DependencyMonitor, type DependencyProbe } from '../src/worker/dependency-monitor.js';

/** A logger that records each line's message and level. */
function recordingLogger() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(`${JSON.parse(line).level}:${JSON.parse(line).msg}`) },
  );
  return { logger, lines };
}

describe("a worker's dependency monitor", () => {
  it('reports each dependency with its status, reason and since, and logs each change of state once', async () => {
    let mongoUp = false;
    const probes: Record<string, DependencyProbe> = {
      kafka: () => Promise.resolve(),
      mongo: () => (mongoUp ? Promise.resolve() : Promise.reject(new MongoNetworkError('connect ECONNREFUSED'))),
    };
    let clock = Date.parse('2026-12-04T10:00:00Z');
    const { logger, lines } = recordingLogger();
    const monitor = new DependencyMonitor({
      worker: 'w',
      probes,
      intervalMs: 1_000,
      timeoutMs: 100,
      logger,
      now: () => clock,
    });
    expect(monitor.snapshot().kafka?.status).toBe('unknown');
    await monitor.probeAll();
    clock += 1_000;
    await monitor.probeAll(); // still down: no second line
    expect(monitor.snapshot()).toEqual({
      kafka: { status: 'ok', since: '2026-12-04T10:00:00.000Z' },
      mongo: { status: 'down', reason: 'MongoNetworkError: connect ECONNREFUSED', since: '2026-12-04T10:00:00.000Z' },
    });
    expect(monitor.allUp()).toBe(false);
    mongoUp = true;
    clock += 1_000;
    await monitor.probeAll();
    expect(monitor.snapshot().mongo).toEqual({ status: 'ok', since: '2026-12-04T10:00:02.000Z' });
    expect(monitor.allUp()).toBe(true);
    expect(lines).toEqual(['40:mongo is down: pausing what needs it until it is back', '30:mongo is back']);
  });

  it('counts probes without an answer as down, with the reason, once two in a row have failed', async () => {
    let hang = false;
    const monitor = new DependencyMonitor({
      worker: 'w',
      probes: { registry: () => (hang ? new Promise(() => undefined) : Promise.resolve()) },
      intervalMs: 1_000,
      timeoutMs: 20,
      logger: pino({ level: 'silent' }),
    });
    await monitor.probeAll();
    hang = true;
    await monitor.probeAll(); // one slow probe (a starved CPU) does not flip readiness
    expect(monitor.isUp('registry')).toBe(true);
    await monitor.probeAll();
    expect(monitor.snapshot().registry).toMatchObject({
      status: 'down',
      reason: 'ProbeTimeout: no answer within 20 ms',
    });
  });

  it('takes an operation failure at once, and a probe begun before it cannot mark the dependency up', async () => {
    let release: () => void = () => undefined;
    const monitor = new DependencyMonitor({
      worker: 'w',
      probes: { mongo: () => new Promise<void>((resolve) => (release = resolve)) },
      intervalMs: 1_000,
      timeoutMs: 1_000,
      logger: pino({ level: 'silent' }),
    });
    const probing = monitor.probeAll();
    await new Promise((resolve) => setTimeout(resolve, 5));
    monitor.failed('mongo', new MongoNetworkError('connection closed'));
    release();
    await probing;
    expect(monitor.isUp('mongo')).toBe(false);
    monitor.served('mongo');
    expect(monitor.isUp('mongo')).toBe(true);
  });
});
