import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoSubjectKeyStore, isSealed } from '@warden/contracts';
import { testWorkerConfig } from '@warden/runtime/testing';
import {
  ERASED_COPY_REASON,
  demoTools,
  keptErasedIn,
  planSealedRollback,
  type LoggedEvent,
  type RunnableTool,
} from '@warden/tools';
import { sampleTask } from '@warden/contracts/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createDemoTools } from '../src/index.js';

const signal = new AbortController().signal;

/** The log of task `t` whose actions (id, tool, args) were approved and succeeded under `t:<id>` (what planning reads). */
function logOf(actions: [string, string, Record<string, unknown>][]): LoggedEvent[] {
  const at = (seq: number, type: string, data: unknown) => ({ taskId: 't', tenantId: 'tenant-k', seq, type, data });
  const result = (tool: string) => (tool === 'customers.delete' ? { deleted: 1 } : { matched: 1, modified: 1 });
  return [
    at(0, 'TaskSubmitted', sampleTask()),
    ...actions.flatMap(([id, tool, args], i) => [
      at(3 * i + 1, 'ActionProposed', { actionId: id, step: i + 1, tool, args }),
      at(3 * i + 2, 'ActionApproved', { actionId: id, tool, args }),
      at(3 * i + 3, 'ToolSucceeded', { actionId: id, tool, effectKey: `t:${id}`, result: result(tool) }),
    ]),
  ] as LoggedEvent[];
}
const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** The copies customers.update and customers.delete keep for undo, with sealing on (ADR 0026), on real MongoDB. */
describe("the customers' copies kept for undo hold their personal data sealed, and an erasure shreds them", () => {
  const config = testWorkerConfig(stack());
  let mongo: MongoClient;
  let db: Db;
  let workspace: string;
  let keys: MongoSubjectKeyStore;
  let tools: Map<string, RunnableTool>;
  const run = (name: string, args: unknown, key: string, tenantId: string | null = 'tenant-k') =>
    tools.get(name)!.run(args, { idempotencyKey: key, signal, logger, ...(tenantId === null ? {} : { tenantId }) });
  const clearOf = async (collection: string): Promise<string> =>
    JSON.stringify(await db.collection(collection).find({}).toArray());

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    keys = new MongoSubjectKeyStore(db);
    await db.collection('customers').insertMany([
      { _id: 'cus_9', name: 'Grace Hopper', email: 'grace@example.com', status: 'active' },
      { _id: 'cus_8', name: 'Alan Turing', email: 'alan@example.com', status: 'active' },
    ] as never[]);
    workspace = await mkdtemp(join(tmpdir(), 'warden-kept-'));
    tools = new Map(
      createDemoTools({
        db,
        customerCollections: ['customers'],
        knowledgeCollection: 'knowledge',
        workspaceRoot: workspace,
        httpAllowlist: [],
        httpMaxBytes: 1024,
        keptSealing: { keys, keyScope: 'subject' },
      }).map((t) => [t.spec.name, t]),
    );
  });
  afterAll(async () => {
    await mongo.close();
    await rm(workspace, { recursive: true, force: true });
  });

  it('keeps versions and archived records sealed, puts them back while the key lives, and refuses once erased', async () => {
    const update = { collection: 'customers', id: 'cus_9', set: { name: 'G. Hopper', email: 'g@example.com' } };
    await run('customers.update', update, 't:u1');
    const version = await db.collection('customers_versions').findOne({ _id: 't:u1|cus_9' } as never);
    expect(isSealed(version?.previous.name)).toBe(true);
    expect(await clearOf('customers_versions')).not.toContain('Grace Hopper');
    expect(await clearOf('customers_versions')).not.toContain('grace@example.com');
    // revert opens what was kept: the record is as before
    await run('customers.revert', { collection: 'customers', id: 'cus_9', reverts: 't:u1' }, 't:v1');
    expect(await db.collection('customers').findOne({ _id: 'cus_9' } as never)).toMatchObject({
      name: 'Grace Hopper',
      email: 'grace@example.com',
    });

    await run('customers.update', update, 't:u2');
    await run('customers.delete', { collection: 'customers', ids: ['cus_8'] }, 't:d1');
    const archived = await clearOf('customers_deleted');
    expect(archived).toContain('cus_8');
    for (const clear of ['Alan Turing', 'alan@example.com']) expect(archived).not.toContain(clear);

    // erased: what was kept can no longer be read, and nothing is put back from [erased]
    await keys.erase('tenant-k:cus_9');
    await keys.erase('tenant-k:cus_8');
    await expect(
      run('customers.revert', { collection: 'customers', id: 'cus_9', reverts: 't:u2' }, 't:v2'),
    ).rejects.toThrow(/erased/);
    await expect(run('customers.restore', { collection: 'customers', deletedBy: 't:d1' }, 't:r1')).rejects.toThrow(
      /erased/,
    );
    expect(await db.collection('customers').findOne({ _id: 'cus_8' } as never)).toBeNull();
    // a rollback planned now reports both effects as not undoable, with the reason, rather than failing at them
    const plan = await planSealedRollback(
      demoTools,
      logOf([
        ['u2', 'customers.update', update],
        ['d1', 'customers.delete', { collection: 'customers', ids: ['cus_8'] }],
      ]),
      't',
      0,
      keys,
      keptErasedIn(db, keys),
    );
    expect(plan.steps).toEqual([]);
    expect(plan.irreversible.map((e) => [e.actionId, e.reason])).toEqual([
      ['d1', ERASED_COPY_REASON],
      ['u2', ERASED_COPY_REASON],
    ]);
    expect(await db.collection('customers').findOne({ _id: 'cus_9' } as never)).toMatchObject({ name: 'G. Hopper' });
  });

  it('keeps nothing in clear for a call that names no tenant: it fails', async () => {
    await expect(
      run('customers.update', { collection: 'customers', id: 'cus_9', set: { status: 'inactive' } }, 't:u3', null),
    ).rejects.toThrow(/tenant/);
  });
});
