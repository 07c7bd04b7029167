import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalHash, signDecision, type WardenEvent } from '@warden/contracts';
import type { Worker } from '@warden/runtime';
import { EventCollector, startTestPublisher, testWorkerConfig, type TestPublisher } from '@warden/runtime/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createDemoTools, createExecutorWorker, type ExecutorWorker } from '../src/index.js';
import {
  actionApproved,
  causedBy,
  escalationRequested,
  humanApproved,
  responsesTo,
  resultOf,
  testDecisionKeys,
  testDecisionTrust,
  testSettings,
  testTool,
  withTasks,
} from './helpers.js';

describe('the executor on the real stack', () => {
  const config = testWorkerConfig(stack(), { decisionTrust: testDecisionTrust });
  let worker: ExecutorWorker;
  let publisher: TestPublisher;
  let out: EventCollector;
  let mongo: MongoClient;
  let db: Db;
  let workspace: string;
  let server: Server;
  let port: number;
  let hangAborted = 0;
  let alwaysFailCalls = 0;

  beforeAll(async () => {
    mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    db = mongo.db(config.mongoDb);
    await db.collection<{ _id: string }>('customers').insertMany([
      { _id: 'c-1', name: 'Ada', status: 'active' },
      { _id: 'c-2', name: 'Bob', status: 'active' },
      { _id: 'c-3', name: 'Cy', status: 'active' },
      { _id: 'c-4', name: 'Di', status: 'active' },
    ] as never[]);
    await db.collection<{ _id: string; text: string }>('knowledge').insertMany([
      { _id: 'kb-refunds', text: 'Refunds are allowed within 30 days of purchase' },
      { _id: 'kb-shipping', text: 'Shipping takes 3 to 5 business days' },
    ]);
    workspace = await mkdtemp(join(tmpdir(), 'warden-exec-'));
    await writeFile(join(workspace, 'big.txt'), 'x'.repeat(400 * 1024));
    server = createServer((_req, res) => res.end('local pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    worker = createExecutorWorker({
      runtime: config,
      settings: testSettings(),
      tools: (deps) => [
        ...createDemoTools({
          db: deps.db,
          customerCollections: ['customers'],
          knowledgeCollection: 'knowledge',
          workspaceRoot: workspace,
          httpAllowlist: ['127.0.0.1'],
          httpAllowedRanges: ['127.0.0.1/32'], // the local test server
          httpMaxBytes: 1024 * 1024,
        }),
        testTool(
          'test.hang',
          (_args, ctx) =>
            new Promise((_resolve, reject) =>
              ctx.signal.addEventListener('abort', () => {
                hangAborted++;
                reject(new Error('cancelled'));
              }),
            ),
          1_000,
        ),
        testTool('test.invalid', () => Promise.resolve({ n: 'not a number' })),
        testTool('test.broken', () => {
          alwaysFailCalls++;
          return Promise.reject(new Error('the tool is down'));
        }),
      ],
    });
    await worker.start();
    publisher = await startTestPublisher(config);
    out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.results.v1`, `${config.topicPrefix}.alerts.v1`, `${config.topicPrefix}.verdicts.v1`],
      config.mongoDb,
    );
  });
  afterAll(async () => {
    await out?.close();
    await publisher?.close();
    await (worker as Worker | undefined)?.close();
    await mongo?.close();
    await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  });

  it('runs an approved update once on the real store; a second approval of the action changes nothing', async () => {
    const args = { collection: 'customers', id: 'c-1', set: { status: 'inactive' } };
    const first = actionApproved('exec-update', 'a1', 'customers.update', args);
    await publisher.publish(...withTasks(first));
    const result = await resultOf(out, first.id);
    expect(result.type).toBe('ToolSucceeded');
    expect(result.data).toMatchObject({ effectKey: 'exec-update:a1', result: { matched: 1, modified: 1 } });
    const until = new Date(Date.now() + 3_600_000);
    const escalation = escalationRequested('exec-update', 'a1', 'customers.update', args, until);
    const again = humanApproved('exec-update', 'a1', 'customers.update', args, until);
    const sentinel = actionApproved('exec-update', 'a2', 'customers.query', {
      collection: 'customers',
      filter: { id: 'c-1' },
    });
    await publisher.publish(escalation, again, sentinel); // same task: same partition, handled in order
    const query = await resultOf(out, sentinel.id);
    expect(query.data).toMatchObject({ result: { rows: [{ id: 'c-1', status: 'inactive' }], total: 1 } });
    expect(causedBy(out.events(), again.id)).toEqual([]);
    const doc = await db.collection<{ _id: string; _effects: string[] }>('customers').findOne({ _id: 'c-1' });
    expect(doc?._effects).toEqual(['exec-update:a1']);
  });

  it('refuses args that do not hash to the approved argsHash, with an alert, and touches nothing', async () => {
    const approved = { collection: 'customers', id: 'c-2', set: { status: 'inactive' } };
    const tampered = { collection: 'customers', id: 'c-2', set: { status: 'suspended' } };
    const draft = actionApproved('exec-tampered', 'a1', 'customers.update', tampered, canonicalHash(approved));
    await publisher.publish(...withTasks(draft));
    const result = await resultOf(out, draft.id);
    expect(result.data).toMatchObject({ errorClass: 'refused', retryable: false });
    if (result.type === 'ToolFailed') expect(result.data.message).toMatch(/args_hash_mismatch/);
    const events = await out.waitFor((es) => responsesTo(es, draft.id).some((e) => e.type === 'AlertRaised'));
    expect(responsesTo(events, draft.id).find((e) => e.type === 'AlertRaised')?.data).toMatchObject({
      subject: { reason: 'args_hash_mismatch' },
    });
    const doc = await db.collection<{ _id: string; status: string }>('customers').findOne({ _id: 'c-2' });
    expect(doc?.status).toBe('active');
  });

  it('refuses an expired human approval', async () => {
    const args = { collection: 'customers', id: 'c-2', set: { status: 'suspended' } };
    const escalation = escalationRequested(
      'exec-expired',
      'a1',
      'customers.update',
      args,
      new Date(Date.now() - 1_000),
    );
    const draft = humanApproved('exec-expired', 'a1', 'customers.update', args, new Date(Date.now() - 1_000));
    await publisher.publish(...withTasks(escalation, draft));
    const result = await resultOf(out, draft.id);
    expect(result.data).toMatchObject({ errorClass: 'refused' });
    if (result.type === 'ToolFailed') expect(result.data.message).toMatch(/decision_expired/);
  });

  it('cancels a hanging tool at its timeout', async () => {
    const draft = actionApproved('exec-hang', 'a1', 'test.hang', { n: 1 });
    await publisher.publish(...withTasks(draft));
    const result = await resultOf(out, draft.id);
    expect(result.type).toBe('ToolFailed');
    expect(result.data).toMatchObject({ errorClass: 'timeout', retryable: true });
    if (result.type === 'ToolFailed') expect(result.data.durationMs).toBeGreaterThanOrEqual(900);
    expect(hangAborted).toBe(1);
  });

  it('counts a schema-invalid output as a failure and never publishes it', async () => {
    const draft = actionApproved('exec-invalid', 'a1', 'test.invalid', { n: 1 });
    await publisher.publish(...withTasks(draft));
    const result = await resultOf(out, draft.id);
    expect(result.type).toBe('ToolFailed');
    expect(result.data).toMatchObject({ errorClass: 'invalid_output' });
  });

  it('refuses path traversal and hosts outside the allowlist; serves allowed ones', async () => {
    const traversal = actionApproved('exec-traversal', 'a1', 'files.read', { path: '../../etc/passwd' });
    const outside = actionApproved('exec-host', 'a1', 'http.get', { url: 'http://example.com/' });
    const inside = actionApproved('exec-host-ok', 'a1', 'http.get', { url: `http://127.0.0.1:${port}/ping` });
    await publisher.publish(...withTasks(traversal, outside, inside));
    expect((await resultOf(out, traversal.id)).data).toMatchObject({ errorClass: 'refused' });
    expect((await resultOf(out, outside.id)).data).toMatchObject({ errorClass: 'refused' });
    expect((await resultOf(out, inside.id)).data).toMatchObject({ result: { status: 200, body: 'local pong' } });
  });

  it('sends mail into the outbox, deletes with an archive, writes files and retrieves facts with source ids', async () => {
    const mail = actionApproved('exec-mail', 'a1', 'email.send', {
      to: ['ada@example.com', 'ADA@example.com'],
      cc: ['bob@example.com'],
      subject: 'Hello',
      body: 'Your refund is on its way',
    });
    const del = actionApproved('exec-delete', 'a1', 'customers.delete', {
      collection: 'customers',
      ids: ['c-3', 'c-4', 'c-404'],
    });
    const write = actionApproved('exec-write', 'a1', 'files.write', { path: 'reports/r.txt', content: 'done' });
    const search = actionApproved('exec-search', 'a1', 'knowledge.search', { query: 'refunds within days' });
    await publisher.publish(...withTasks(mail, del, write, search));
    expect((await resultOf(out, mail.id)).data).toMatchObject({
      result: { messageId: 'exec-mail:a1', accepted: ['ada@example.com', 'bob@example.com'] },
    });
    expect(await db.collection('outbox_emails').countDocuments({ _id: 'exec-mail:a1' } as never)).toBe(1);
    expect((await resultOf(out, del.id)).data).toMatchObject({ result: { deleted: 2 } });
    expect(await db.collection('customers').countDocuments({ _id: { $in: ['c-3', 'c-4'] } } as never)).toBe(0);
    expect(await db.collection('customers_deleted').countDocuments({ effectKey: 'exec-delete:a1' })).toBe(2);
    expect((await resultOf(out, write.id)).data).toMatchObject({ result: { sizeBytes: 4 } });
    expect(await readFile(join(workspace, 'reports/r.txt'), 'utf8')).toBe('done');
    const found = await resultOf(out, search.id);
    if (found.type !== 'ToolSucceeded') throw new Error(`search failed: ${JSON.stringify(found.data)}`);
    const hits = (found.data.result as { hits: Array<{ sourceId: string; text: string }> }).hits;
    expect(hits[0]).toMatchObject({ sourceId: 'kb-refunds', text: 'Refunds are allowed within 30 days of purchase' });
  });

  it('sends a large output by claim-check', async () => {
    const draft = actionApproved('exec-big', 'a1', 'files.read', { path: 'big.txt' });
    await publisher.publish(...withTasks(draft));
    const result = await resultOf(out, draft.id);
    expect(result.data).toMatchObject({ result: { sizeBytes: 400 * 1024 } });
    const raw = out.messages.find((m) => m.decoded?.event.id === result.id);
    expect(raw?.message.value?.toString('utf8')).toContain('$claimCheck');
    expect(raw!.message.value!.byteLength).toBeLessThan(10_000);
  });

  it('opens the breaker of a failing tool, alerts, then fails fast and asks a person', async () => {
    const drafts = [1, 2, 3, 4].map((i) => actionApproved('exec-broken', `a${i}`, 'test.broken', { n: i }));
    await publisher.publish(...withTasks(...drafts));
    const results: WardenEvent[] = [];
    for (const d of drafts) results.push(await resultOf(out, d.id));
    expect(results.map((r) => r.data)).toMatchObject([
      { errorClass: 'tool_error' },
      { errorClass: 'tool_error' },
      { errorClass: 'tool_error' },
      { errorClass: 'breaker_open' },
    ]);
    const opened = await out.waitFor((es) =>
      ['BreakerOpened', 'AlertRaised'].every((t) => responsesTo(es, drafts[2]!.id).some((e) => e.type === t)),
    );
    expect(responsesTo(opened, drafts[2]!.id).find((e) => e.type === 'BreakerOpened')?.data).toMatchObject({
      scope: 'tool',
      name: 'test.broken',
      consecutiveFailures: 3,
    });
    const escalation = await out.waitFor((es) =>
      responsesTo(es, drafts[3]!.id).some((e) => e.type === 'EscalationRequested'),
    );
    expect(responsesTo(escalation, drafts[3]!.id).find((e) => e.type === 'EscalationRequested')?.data).toMatchObject({
      source: 'executor',
      reasonCode: 'breaker_open',
      action: { tool: 'test.broken', argsHash: canonicalHash({ n: 4 }) },
    });
    expect(alwaysFailCalls).toBe(3);
    expect(worker.breakerState('test.broken')).toBe('open');
  });
});

describe("the executor and people's decisions", () => {
  it("runs a person's approval only when signed by a trusted key and bound to exactly the escalation it answers", async () => {
    const config = testWorkerConfig(stack(), { decisionTrust: testDecisionTrust });
    const mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    const db = mongo.db(config.mongoDb);
    await db.collection<{ _id: string }>('customers').insertOne({ _id: 'c-9', status: 'active' } as never);
    const worker = createExecutorWorker({
      runtime: config,
      settings: testSettings(),
      tools: (deps) =>
        createDemoTools({
          db: deps.db,
          customerCollections: ['customers'],
          knowledgeCollection: 'knowledge',
          workspaceRoot: tmpdir(),
          httpAllowlist: [],
          httpMaxBytes: 1024,
        }),
    });
    await worker.start();
    const publisher = await startTestPublisher(config);
    const out = await EventCollector.start(
      stack(),
      [`${config.topicPrefix}.results.v1`, `${config.topicPrefix}.alerts.v1`],
      config.mongoDb,
    );
    const status = async (): Promise<unknown> =>
      (await db.collection<{ _id: string; status: string }>('customers').findOne({ _id: 'c-9' }))?.status;
    const refusal = async (draft: { id: string }): Promise<string> => {
      const refused = await resultOf(out, draft.id);
      expect(refused.data).toMatchObject({ errorClass: 'refused' });
      const alerts = await out.waitFor((es) => responsesTo(es, draft.id).some((e) => e.type === 'AlertRaised'));
      expect(responsesTo(alerts, draft.id).find((e) => e.type === 'AlertRaised')?.data).toMatchObject({
        severity: 'critical',
      });
      return refused.type === 'ToolFailed' ? refused.data.message : '';
    };
    try {
      const until = new Date(Date.now() + 3_600_000);
      const args = { collection: 'customers', id: 'c-9', set: { status: 'inactive' } };
      const other = { collection: 'customers', id: 'c-9', set: { status: 'deleted' } };
      // no escalation of a1 seen yet: nothing to answer
      const orphan = humanApproved('exec-signed', 'a1', 'customers.update', args, until);
      await publisher.publish(...withTasks(orphan));
      expect(await refusal(orphan)).toMatch(/escalation_unknown/);
      await publisher.publish(escalationRequested('exec-signed', 'a1', 'customers.update', args, until));
      const unsigned = humanApproved('exec-signed', 'a1', 'customers.update', args, until, undefined, false);
      await publisher.publish(unsigned);
      expect(await refusal(unsigned)).toMatch(/approval_unauthenticated/);
      // signed, but for other args than the escalation's
      const changed = humanApproved('exec-signed', 'a1', 'customers.update', other, until);
      await publisher.publish(changed);
      expect(await refusal(changed)).toMatch(/args_mismatch/);
      // signed, but a stale policy version
      const stale = humanApproved('exec-signed', 'a1', 'customers.update', args, until);
      const restamped = { ...stale.data, policyVersion: 'default.v0' };
      const staleSigned = {
        ...stale,
        data: {
          ...restamped,
          signature: signDecision(
            'HumanApproved',
            stale.taskId,
            stale.tenantId,
            restamped,
            testDecisionKeys.signingKey,
          ),
        },
      };
      await publisher.publish(staleSigned);
      expect(await refusal(staleSigned)).toMatch(/policy_mismatch/);
      // a tampered signature
      const good = humanApproved('exec-signed', 'a1', 'customers.update', args, until);
      const tampered = { ...good, data: { ...good.data, decidedBy: { id: 'mallory', kind: 'user' as const } } };
      await publisher.publish(tampered);
      expect(await refusal(tampered)).toMatch(/approval_unauthenticated:.*\(bad_signature\)/);
      expect(await status()).toBe('active');

      const signed = humanApproved('exec-signed', 'a1', 'customers.update', args, until);
      await publisher.publish(signed);
      const ran = await resultOf(out, signed.id);
      expect(ran.type, JSON.stringify(ran.data)).toBe('ToolSucceeded');
      expect(await status()).toBe('inactive');
    } finally {
      await out.close();
      await publisher.close();
      await worker.close();
      await mongo.close();
    }
  });

  it('fails closed: without decision keys a signed approval is refused too', async () => {
    const config = testWorkerConfig(stack());
    const worker = createExecutorWorker({
      runtime: config,
      settings: testSettings(),
      tools: () => [testTool('test.echo', (a) => Promise.resolve(a))],
    });
    await worker.start();
    const publisher = await startTestPublisher(config);
    const out = await EventCollector.start(stack(), [`${config.topicPrefix}.results.v1`], config.mongoDb);
    try {
      const until = new Date(Date.now() + 3_600_000);
      const signed = humanApproved('exec-nokeys', 'a1', 'test.echo', { n: 1 }, until);
      await publisher.publish(
        ...withTasks(escalationRequested('exec-nokeys', 'a1', 'test.echo', { n: 1 }, until), signed),
      );
      const refused = await resultOf(out, signed.id);
      expect(refused.data).toMatchObject({ errorClass: 'refused' });
      if (refused.type === 'ToolFailed') expect(refused.data.message).toMatch(/approval_unauthenticated:.*\(no_keys\)/);
    } finally {
      await out.close();
      await publisher.close();
      await worker.close();
    }
  });
});
