import { randomBytes } from 'node:crypto';
import { MongoBlobStore } from '@warden/contracts';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { MongoKeptFiles } from '../src/stores/kept-files.js';

/**
 * Issue 17: files.write's look-up of what it kept queried `{effectKey}`, which decodes every record kept before on
 * FerretDB 1.24; the record of an effect and path is now read by its `_id` (the `_id` index on MongoDB, a much
 * cheaper scan on FerretDB: ADR 0030). Checked through the driver's command monitoring.
 */
describe('kept files: the record of an effect and path', () => {
  const dbName = `t_kept_${randomBytes(5).toString('hex')}`;
  let mongo: MongoClient;
  const filters: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl, { monitorCommands: true });
    mongo.on('commandStarted', (e: CommandStartedEvent) => {
      if (e.commandName === 'find' && e.command.find === 'kept_file_versions')
        filters.push(e.command.filter as Record<string, unknown>);
    });
    await mongo.connect();
  });

  afterAll(async () => {
    await mongo.db(dbName).dropDatabase();
    await mongo.close();
  });

  it('is read by _id, among the records of other effects and paths', async () => {
    const db = mongo.db(dbName);
    const kept = new MongoKeptFiles(db, new MongoBlobStore(db));
    await kept.keep('task-1:a', 'notes/a.txt', new TextEncoder().encode('before'));
    await kept.keep('task-1:a', 'notes/b.txt', null);
    await kept.keep('task-2:a', 'notes/a.txt', null);
    filters.length = 0;

    const a = await kept.recordOf('task-1:a', 'notes/a.txt');
    const b = await kept.recordOf('task-1:a', 'notes/b.txt');
    const none = await kept.recordOf('task-3:a', 'notes/a.txt');

    expect(a?.previousSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toEqual({ previousSha256: null });
    expect(none).toBeUndefined();
    expect(filters).toHaveLength(3);
    for (const filter of filters) expect(Object.keys(filter)).toEqual(['_id']);
  });
});
