import { randomBytes } from 'node:crypto';
import { MongoBlobStore } from '@warden/contracts';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { EffectLedger } from '../src/ledger.js';

/**
 * Issue 17: the ledger's read of an effect by `key` decoded every effect ever recorded on FerretDB 1.24 (2.5-4.7 s
 * among 60,000); it now reads each phase's document by its `_id`, the `_id` index on MongoDB and a 15x cheaper scan
 * on FerretDB (ADR 0030). Checked through the driver's command monitoring: every query the read sends filters by
 * `_id` alone.
 */
describe('effect ledger reads by _id', () => {
  const dbName = `t_ledger_${randomBytes(5).toString('hex')}`;
  let mongo: MongoClient;
  const finds: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl, { monitorCommands: true });
    mongo.on('commandStarted', (e: CommandStartedEvent) => {
      if (e.commandName === 'find' || e.commandName === 'aggregate' || e.commandName === 'count')
        finds.push((e.command.filter ?? e.command.query ?? e.command.pipeline ?? {}) as Record<string, unknown>);
    });
    await mongo.connect();
  });

  afterAll(async () => {
    await mongo.db(dbName).dropDatabase();
    await mongo.close();
  });

  it("reads an effect's intent, dispatches and outcome by _id only, among other effects", async () => {
    const db = mongo.db(dbName);
    const ledger = new EffectLedger(db, { blobs: new MongoBlobStore(db) });
    const intent = { tool: 'payments.refund', argsHash: 'h', approvalEventId: 'e1' };
    // Other effects around it, and the effect itself with three dispatches and an outcome.
    for (const other of ['task-0:a', 'task-2:a']) {
      await ledger.recordIntent(other, intent);
      await ledger.dispatch(other, 1, 'r', new Date());
    }
    const key = 'task-1:a';
    await ledger.recordIntent(key, intent);
    for (const attempt of [1, 2, 3]) expect(await ledger.dispatch(key, attempt, `r${attempt}`, new Date())).toBe(true);
    await ledger.finish(key, {
      status: 'committed',
      result: { refundId: 'x' },
      durationMs: 5,
      approvalEventId: 'e1',
    });

    finds.length = 0;
    const again = await ledger.recordIntent(key, intent);

    expect(again.created).toBe(false);
    const state = again.created ? undefined : again.state;
    expect(state?.intent?.argsHash).toBe('h');
    expect(state?.dispatches.map((d) => [d.attempt, d.replicaId])).toEqual([
      [1, 'r1'],
      [2, 'r2'],
      [3, 'r3'],
    ]);
    expect(state?.outcome).toMatchObject({ status: 'committed', result: { refundId: 'x' } });
    expect(finds.length).toBeGreaterThan(0);
    for (const filter of finds) expect(Object.keys(filter)).toEqual(['_id']);
  });

  it('knows an effect with an intent alone', async () => {
    const ledger = new EffectLedger(mongo.db(dbName), { blobs: new MongoBlobStore(mongo.db(dbName)) });
    const intent = { tool: 'email.send', argsHash: 'h2', approvalEventId: 'e2' };
    await ledger.recordIntent('task-9:b', intent);
    finds.length = 0;
    const again = await ledger.recordIntent('task-9:b', intent);
    expect(again.created ? undefined : again.state).toEqual({
      intent: expect.objectContaining({ argsHash: 'h2' }) as unknown,
      dispatches: [],
    });
    for (const filter of finds) expect(Object.keys(filter)).toEqual(['_id']);
  });
});
