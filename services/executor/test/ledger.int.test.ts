import { randomUUID } from 'node:crypto';
import { testWorkerConfig } from '@warden/runtime/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { EffectLedger } from '../src/index.js';
import type { BlobStore } from '@warden/contracts';

const noBlobs = {} as BlobStore; // no result here is large enough to go to the blob store

describe('the effect ledger on MongoDB: the intent and the first dispatch in one round trip', () => {
  const config = testWorkerConfig(stack());
  let mongo: MongoClient;
  let db: Db;
  let ledger: EffectLedger;
  const intent = { tool: 'payments.refund', argsHash: 'h1', approvalEventId: 'ev-1' };
  const claim = (attempt = 1) => ({ attempt, replicaId: 'r-1', leaseUntil: new Date(Date.now() + 60_000) });

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    ledger = new EffectLedger(db, { blobs: noBlobs, collection: `effects_${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await mongo.close();
  });

  it('a new effect gets its intent and its first dispatch, in that order, and a second recording gets neither', async () => {
    const key = `t-${randomUUID()}:a-1`;
    await expect(ledger.recordIntent(key, intent, new Date(), claim())).resolves.toEqual({
      created: true,
      dispatched: true,
    });
    const state = await ledger.state(key);
    expect(state.intent).toMatchObject(intent);
    expect(state.dispatches.map((d) => [d.attempt, d.replicaId])).toEqual([[1, 'r-1']]);
    // the same effect again (a redelivered approval): what the ledger knows, and the dispatch is already held
    const again = await ledger.recordIntent(key, intent, new Date(), claim());
    expect(again.created).toBe(false);
    expect(again.created === false && again.state.dispatches).toHaveLength(1);
    expect(await ledger.dispatch(key, 1, 'r-2', new Date())).toBe(false);
  });

  it('an intent recorded without a dispatch is not dispatched by a later recording with one', async () => {
    const key = `t-${randomUUID()}:a-1`;
    await expect(ledger.recordIntent(key, intent)).resolves.toEqual({ created: true, dispatched: false });
    const later = await ledger.recordIntent(key, intent, new Date(), claim());
    expect(later.created).toBe(false);
    expect(later.created === false && later.state.dispatches).toEqual([]);
  });

  it('a first dispatch another executor claimed first is reported as not claimed, the intent kept', async () => {
    const key = `t-${randomUUID()}:a-1`;
    expect(await ledger.dispatch(key, 1, 'r-2', new Date())).toBe(true);
    await expect(ledger.recordIntent(key, intent, new Date(), claim())).resolves.toEqual({
      created: true,
      dispatched: false,
    });
    const state = await ledger.state(key);
    expect(state.intent).toMatchObject(intent);
    expect(state.dispatches.map((d) => d.replicaId)).toEqual(['r-2']);
  });
});
