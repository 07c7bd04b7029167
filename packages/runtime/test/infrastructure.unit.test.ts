import { EventValidationError, MalformedEventError, RegistryUnavailableError } from '@warden/contracts';
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { InfrastructureError, PublishError, RetryableHandlerError, TerminalHandlerError } from '../src/errors.js';
import { dependencyOf, failureKindOf, outageReason } from '../src/infrastructure.js';
import { failureOutcome } from '../src/worker/retry.js';

/** kafkajs's protocol error for a broker answer of this type (retriable as kafkajs's own table says). */
const protocolError = (type: string, retriable: boolean) =>
  Object.assign(new KafkaJSProtocolError(`answer ${type}`), { type, retriable });

const waitQueueTimeout = Object.assign(new Error('Timed out while checking out a connection from connection pool'), {
  name: 'MongoWaitQueueTimeoutError',
});

describe('classifying a failure: infrastructure, transient or poison', () => {
  it.each([
    ['a refused MongoDB connection', new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'), 'mongo'],
    ['a MongoDB socket timeout', new MongoNetworkTimeoutError('timed out'), 'mongo'],
    ['no MongoDB server found', new MongoServerSelectionError('Server selection timed out', {} as never), 'mongo'],
    ['no pooled MongoDB connection in time', waitQueueTimeout, 'mongo'],
    ['a MongoDB server shutting down', new MongoServerError({ code: 91, errmsg: 'ShutdownInProgress' }), 'mongo'],
    ['a broker that refuses connections', new KafkaJSConnectionError('Connection error: ECONNREFUSED'), 'kafka'],
    ['a request the broker never answered', new KafkaJSRequestTimeoutError('Request timed out'), 'kafka'],
    ['a coordinator that moved', protocolError('NOT_COORDINATOR_FOR_GROUP', true), 'kafka'],
    ['a leader being elected', protocolError('LEADER_NOT_AVAILABLE', true), 'kafka'],
    ['an unreachable or failing registry', new RegistryUnavailableError('HTTP 503'), 'registry'],
  ] as const)('%s is an outage of %s', (_what, error, dependency) => {
    expect(dependencyOf(error)).toBe(dependency);
    expect(failureKindOf(error)).toBe('infrastructure');
  });

  it('finds an outage anywhere in the chain of causes, whatever the wrapping errors say', () => {
    const network = new MongoNetworkError('connection closed');
    // a store wrapping the network error in a terminal error must not dead-letter the event
    expect(failureKindOf(new TerminalHandlerError('could not read budget', { cause: network }))).toBe('infrastructure');
    const connection = new KafkaJSConnectionError('Connection error');
    const exhausted = new KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 8, retryTime: 1000 });
    expect(dependencyOf(new PublishError('transaction failed', { cause: exhausted }))).toBe('kafka');
    expect(dependencyOf(new AggregateError([new Error('x'), network]))).toBe('mongo');
    expect(dependencyOf(new InfrastructureError('registry', 'down'))).toBe('registry');
  });

  it('is not an outage when the broker refuses this member or this message', () => {
    for (const type of ['INVALID_PRODUCER_EPOCH', 'UNKNOWN_MEMBER_ID', 'MESSAGE_TOO_LARGE']) {
      expect(dependencyOf(new PublishError('failed', { cause: protocolError(type, false) }))).toBeUndefined();
    }
  });

  it('calls a terminal error poison and anything else transient', () => {
    expect(failureKindOf(new EventValidationError('bad', []))).toBe('poison');
    expect(failureKindOf(new MalformedEventError('not an event'))).toBe('poison');
    expect(failureKindOf(new TerminalHandlerError('refused'))).toBe('poison');
    expect(failureKindOf(new RetryableHandlerError('model timed out'))).toBe('transient');
    expect(failureKindOf(new Error('a bug'))).toBe('transient');
    expect(failureKindOf('a string')).toBe('transient');
  });

  it('never dead-letters an outage, even past the last attempt; it waits, or is released while draining', () => {
    const outage = new MongoNetworkError('down');
    const last = { attempt: 5, maxAttempts: 5, running: true, aborted: false };
    expect(failureOutcome(outage, last)).toBe('wait-for-dependency');
    expect(failureOutcome(new Error('a bug'), last)).toBe('dead-letter');
    expect(failureOutcome(outage, { ...last, running: false })).toBe('release');
    expect(failureOutcome(outage, { ...last, aborted: true })).toBe('release');
  });

  it('gives a short reason: name and message, clipped, no stack', () => {
    expect(outageReason(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'))).toBe(
      'MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017',
    );
    expect(outageReason(new Error('x'.repeat(500)), 20)).toHaveLength(20);
    const wrapped = new InfrastructureError('mongo', 'mongo unavailable', { cause: new MongoNetworkError('closed') });
    expect(outageReason(wrapped)).toBe('MongoNetworkError: closed');
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:8081') });
    expect(outageReason(refused)).toBe('TypeError: fetch failed (connect ECONNREFUSED 127.0.0.1:8081)');
  });
});
