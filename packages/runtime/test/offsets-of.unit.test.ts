import { describe, expect, it } from 'vitest';
import { groupOffsetsOf, offsetsOf } from '../src/log-reader.js';

/** A kafkajs protocol error as the admin throws it. */
function protocolError(type: string, retriable: boolean): Error {
  return Object.assign(new Error(`broker said ${type}`), { type, retriable });
}

const OFFSETS = [{ partition: 0, offset: '7', high: '7', low: '0' }];

/** An admin whose n-th fetchTopicOffsets (from 1) answers `answer(n)`; `calls()` counts them. */
function adminAnswering(answer: (call: number) => Promise<typeof OFFSETS>) {
  let calls = 0;
  return { fetchTopicOffsets: () => answer(++calls), calls: () => calls };
}

describe('offsetsOf', () => {
  it('asks again while a new topic has no leader yet, then answers', async () => {
    const admin = adminAnswering((n) =>
      n < 3 ? Promise.reject(protocolError('NOT_LEADER_FOR_PARTITION', true)) : Promise.resolve(OFFSETS),
    );
    await expect(offsetsOf(admin, 't')).resolves.toEqual(OFFSETS);
    expect(admin.calls()).toBe(3);
  });

  it('throws an error that is not retriable at once', async () => {
    const admin = adminAnswering(() => Promise.reject(protocolError('TOPIC_AUTHORIZATION_FAILED', false)));
    await expect(offsetsOf(admin, 't')).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(admin.calls()).toBe(1);
  });

  it('gives up with the broker error once its time is up', async () => {
    const admin = adminAnswering(() => Promise.reject(protocolError('LEADER_NOT_AVAILABLE', true)));
    await expect(offsetsOf(admin, 't', 200)).rejects.toThrow('LEADER_NOT_AVAILABLE');
    expect(admin.calls()).toBeGreaterThan(1);
  });
});

describe('groupOffsetsOf', () => {
  const COMMITTED = [{ topic: 't', partitions: [{ partition: 0, offset: '5', metadata: null }] }];

  it("asks again while the group's coordinator is loading or moved, then answers", async () => {
    let calls = 0;
    const asked: unknown[] = [];
    const admin = {
      fetchOffsets: (request: unknown) => {
        asked.push(request);
        calls++;
        if (calls === 1) return Promise.reject(protocolError('COORDINATOR_LOAD_IN_PROGRESS', true));
        if (calls === 2) return Promise.reject(protocolError('NOT_COORDINATOR', true));
        return Promise.resolve(COMMITTED);
      },
    };
    await expect(groupOffsetsOf(admin, 'g', ['t'])).resolves.toEqual(COMMITTED);
    expect(asked).toEqual([1, 2, 3].map(() => ({ groupId: 'g', topics: ['t'] })));
  });

  it('throws an error that is not retriable at once', async () => {
    let calls = 0;
    const admin = {
      fetchOffsets: () => {
        calls++;
        return Promise.reject(protocolError('GROUP_AUTHORIZATION_FAILED', false));
      },
    };
    await expect(groupOffsetsOf(admin, 'g', ['t'])).rejects.toThrow('GROUP_AUTHORIZATION_FAILED');
    expect(calls).toBe(1);
  });
});
