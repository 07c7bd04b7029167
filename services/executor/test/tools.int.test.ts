import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoImpactDeps, demoTools, estimateToolImpact, type RunnableTool } from '@warden/tools';
import { testWorkerConfig } from '@warden/runtime/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createDemoTools } from '../src/index.js';

const signal = new AbortController().signal;
const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('demo tools on real stores: dry-run impact estimates and effects', () => {
  const config = testWorkerConfig(stack());
  let mongo: MongoClient;
  let db: Db;
  let workspace: string;
  let tools: Map<string, RunnableTool>;
  const tool = (name: string): RunnableTool => tools.get(name)!;
  const run = (name: string, args: unknown, key: string) =>
    tool(name).run(args, { idempotencyKey: key, signal, logger: logger });

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    await db.collection('customers').insertMany([
      { _id: 'c-1', status: 'active' },
      { _id: 'c-2', status: 'inactive' },
      { _id: 'c-3', status: 'inactive' },
      { _id: 'c-4', status: 'inactive' },
    ] as never[]);
    workspace = await mkdtemp(join(tmpdir(), 'warden-tools-'));
    await mkdir(join(workspace, 'old'));
    await writeFile(join(workspace, 'old/a.log'), 'a');
    await writeFile(join(workspace, 'old/b.log'), 'b');
    tools = new Map(
      createDemoTools({
        db,
        customerCollections: ['customers'],
        knowledgeCollection: 'knowledge',
        workspaceRoot: workspace,
        httpAllowlist: ['127.0.0.1'],
        httpAllowedRanges: ['127.0.0.1/32'], // the local test server
        httpMaxBytes: 1024,
      }).map((t) => [t.spec.name, t]),
    );
  });
  afterAll(async () => {
    await mongo.close();
    await rm(workspace, { recursive: true, force: true });
  });

  it('estimates each destructive tool by a dry run that changes nothing', async () => {
    const est = (name: string, args: unknown) =>
      estimateToolImpact(demoTools, name, args, demoImpactDeps(db, ['customers']), { signal });
    await expect(
      est('customers.delete', { collection: 'customers', filter: { status: 'inactive' } }),
    ).resolves.toMatchObject({ rows: 3 });
    await expect(est('customers.delete', { collection: 'customers', ids: ['c-1', 'c-404'] })).resolves.toMatchObject({
      rows: 1,
    });
    await expect(
      est('customers.update', { collection: 'customers', id: 'c-1', set: { status: 'inactive' } }),
    ).resolves.toMatchObject({ rows: 1 });
    await expect(
      est('email.send', { to: ['a@example.com', 'b@example.com'], subject: 's', body: 'b' }),
    ).resolves.toMatchObject({ recipients: 2 });
    await expect(est('files.delete', { paths: ['old/a.log', 'old/b.log'] })).resolves.toMatchObject({ files: 2 });
    await expect(est('payments.refund', { orderId: 'o-1', amountUsd: 42.5, reason: 'late' })).resolves.toMatchObject({
      moneyUsd: 42.5,
    });
    expect(await db.collection('customers').countDocuments()).toBe(4);
  });

  it('deletes by an equality filter, archiving what it deleted, once per effect key', async () => {
    const args = { collection: 'customers', filter: { status: 'inactive' } };
    await expect(run('customers.delete', args, 't:a1')).resolves.toEqual({ deleted: 3 });
    await expect(run('customers.delete', args, 't:a1')).resolves.toEqual({ deleted: 3 });
    expect(await db.collection('customers').countDocuments()).toBe(1);
    expect(await db.collection('customers_deleted').countDocuments({ effectKey: 't:a1' })).toBe(3);
    await expect(tool('customers.delete').verify!(args, { idempotencyKey: 't:a1', signal })).resolves.toMatchObject({
      status: 'applied',
    });
    await expect(tool('customers.delete').verify!(args, { idempotencyKey: 't:never', signal })).resolves.toEqual({
      status: 'not_applied',
    });
  });

  it('refuses ids and filter together, and a delete with neither', () => {
    const schema = tool('customers.delete').spec.argsSchema;
    expect(schema.safeParse({ collection: 'customers', ids: ['c-1'], filter: { status: 'x' } }).success).toBe(false);
    expect(schema.safeParse({ collection: 'customers' }).success).toBe(false);
    expect(schema.safeParse({ collection: 'customers', filter: { $where: 'x' } }).success).toBe(false);
  });

  it('refunds once per effect key and verifies it', async () => {
    const args = { orderId: 'o-9', amountUsd: 10, reason: 'damaged' };
    await run('payments.refund', args, 't:r1');
    await run('payments.refund', args, 't:r1');
    expect(await db.collection('refunds').countDocuments({ orderId: 'o-9' })).toBe(1);
    await expect(tool('payments.refund').verify!(args, { idempotencyKey: 't:r1', signal })).resolves.toMatchObject({
      status: 'applied',
    });
  });
});
