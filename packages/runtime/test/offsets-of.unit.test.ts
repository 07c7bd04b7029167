import { describe, expect, it } from 'vitest';
import { offsetsOf } from '../src/log-reader.js';

/** A kafkajs protocol error as the admin throws it. */
function protocolError(type: string, retriable: boolean): Error {
  return Object.assign(new Error(`broker said ${type}`), { type, retriable });
}

const OFFSETS = [{ partition: 0, offset: '7', high: '7', low: '0' }];

describe('offsetsOf', () => {
  it('asks again while a new topic has no leader yet, then answers', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: () => {
        calls++;
        return calls < 3 ? Promise.reject(protocolError('NOT_LEADER_FOR_PARTITION', true)) : Promise.resolve(OFFSETS);
      },
    };
    await expect(offsetsOf(admin, 't')).resolves.toEqual(OFFSETS);
    expect(calls).toBe(3);
  });

  it('throws an error that is not retriable at once', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: () => {
        calls++;
        return Promise.reject(protocolError('TOPIC_AUTHORIZATION_FAILED', false));
      },
    };
    await expect(offsetsOf(admin, 't')).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(calls).toBe(1);
  });

  it('gives up with the broker error once its time is up', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: () => {
        calls++;
        return Promise.reject(protocolError('LEADER_NOT_AVAILABLE', true));
      },
    };
    await expect(offsetsOf(admin, 't', 200)).rejects.toThrow('LEADER_NOT_AVAILABLE');
    expect(calls).toBeGreaterThan(1);
  });
});
