import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkajsLogCreator } from '@warden/runtime';

/** A pino logger at debug level that keeps what it writes. */
function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) => ({
  namespace: 'Producer',
  level,
  label: 'ERROR',
  log: { timestamp: '2026-11-26T00:00:00.000Z', message, ...extra },
});

describe('kafkajs logs in pino', () => {
  it('log the retried "concurrent transactions" answer at debug, whether kafkajs puts it in the error or the message', () => {
    const { logger, lines } = capture();
    const log = kafkajsLogCreator(logger)();
    const concurrent =
      'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    log(entry(logLevel.ERROR, `Failed to send messages: ${concurrent}`, { retryCount: 0 }));
    log(entry(logLevel.ERROR, 'Request failed', { error: concurrent }));
    expect(lines.map((l) => l.level)).toEqual([20, 20]);
  });

  it('log each failed connection attempt to a broker that is down at debug (the worker reports the outage once)', () => {
    const { logger, lines } = capture();
    const log = kafkajsLogCreator(logger)();
    log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    log(
      entry(logLevel.ERROR, 'Failed to connect to seed broker, trying another broker from the list: Connection error'),
    );
    log(entry(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error'));
    expect(lines.map((l) => l.level)).toEqual([20, 20, 50]);
  });

  it("log a response's retriable error at debug (kafkajs retries it), and any other at error", () => {
    const { logger, lines } = capture();
    const log = kafkajsLogCreator(logger)();
    const response = 'Response InitProducerId(key: 22, version: 1)';
    log(entry(logLevel.ERROR, response, { error: 'This is not the correct coordinator for this group' }));
    log(entry(logLevel.ERROR, response, { error: 'The broker received an out of order sequence number' }));
    log(
      entry(logLevel.ERROR, 'Error when calling eachBatch', {
        error: 'This is not the correct coordinator for this group',
      }),
    );
    expect(lines.map((l) => l.level)).toEqual([20, 50, 50]);
  });

  it('log the warning about bounded retries on idempotent producers at debug (Warden bounds them on purpose)', () => {
    const { logger, lines } = capture();
    kafkajsLogCreator(logger)()(
      entry(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'),
    );
    expect(lines.map((l) => l.level)).toEqual([20]);
  });

  it('keep other errors and warnings at their level', () => {
    const { logger, lines } = capture();
    const log = kafkajsLogCreator(logger)();
    log(entry(logLevel.ERROR, 'Failed to send messages: The producer attempted to use a fenced epoch'));
    log(entry(logLevel.WARN, 'The group is rebalancing'));
    log(entry(logLevel.INFO, 'Consumer has joined the group'));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'Failed to send messages: The producer attempted to use a fenced epoch'],
      [40, 'The group is rebalancing'],
      [20, 'Consumer has joined the group'],
    ]);
  });
});
