/**
 * Index creation on the real MongoDB-wire server: FerretDB 1.24 drops the connection of a client that creates
 * indexes on a collection while another does (replicas of a service starting together). createIndexesOnce tries a
 * second time, which finds them made.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createIndexesOnce } from '../src/index.js';
import { stack } from '../../../test/support/index.js';

const clients = Array.from({ length: 3 }, () => new MongoClient(stack().mongoUrl));
const dbName = `t_idx_${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  await clients[0]!
    .db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  for (const c of clients) await c.close();
});

describe('createIndexesOnce', () => {
  it('creates the same indexes from three clients at once, every one succeeding', async () => {
    const indexes = [
      { key: { taskId: 1, status: 1 }, name: 'task_status' },
      { key: { tenantId: 1, requestedAt: -1 }, name: 'tenant_requested' },
      { key: { status: 1, expiresAt: 1 }, name: 'status_expires' },
    ];
    const results = await Promise.allSettled(
      clients.map((c) => createIndexesOnce(c.db(dbName).collection('escalations'), indexes)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const names = (await clients[0]!.db(dbName).collection('escalations').indexes()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['task_status', 'tenant_requested', 'status_expires']));
  });
});
