import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MongoSubjectKeyStore,
  authenticateHaltDecision,
  canonicalHash,
  follow,
  generateSigningKeyPair,
  sealedTextPiece,
  verifyDecision,
  type EventDraft,
  type JsonObject,
  type WardenEvent,
} from '@warden/contracts';
import { createExecutorWorker, type ExecutorWorker } from '@warden/executor';
import {
  EventCollector,
  startTestPublisher,
  testKafkaEnv,
  testWorkerConfig,
  waitUntil,
  type TestPublisher,
} from '@warden/runtime/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causeOf, testSettings, testTool, withTasks } from '../../executor/test/helpers.js';
import { stack } from '../../../test/support/index.js';
import {
  createEscalationService,
  escalationConfigFrom,
  verifyWebhook,
  WebhookHeaders,
  type EscalationService,
} from '../src/index.js';

const webhookSecret = 'webhook-secret-0123456789-0123456789';

/** What the test's webhook receiver saw: each request, whether it answered 200, and whether the signature held. */
interface Received {
  readonly delivery: string;
  readonly accepted: boolean;
  readonly signed: boolean;
  readonly body: { kind: string; eventId: string; payload: { taskId: string } };
}

const keys = generateSigningKeyPair('esc-int');
const tokens = {
  ana: 'ana-approver-token-0123456789',
  root: 'root-admin-token-0123456789',
  vic: 'vic-viewer-token-0123456789',
  bob: 'bob-other-tenant-token-0123456789',
  bea: 'bea-other-tenant-admin-token-0123456789',
};

/** The guard escalating `test.echo` with `args` for task `taskId` (tenant-a) until `expiresAt`. */
function escalation(
  taskId: string,
  args: JsonObject,
  expiresAt: Date,
  actionId = 'a1',
): EventDraft<'EscalationRequested'> {
  return follow(
    causeOf(taskId),
    'EscalationRequested',
    {
      escalationId: `${taskId}:${actionId}:guard`,
      source: 'guard',
      reasonCode: 'low_confidence',
      reason: 'confidence 0.41 under the high-stakes threshold 0.9',
      action: { actionId, tool: 'test.echo', args, argsHash: canonicalHash(args) },
      proposal: {
        reasoning: 'the customer asked for it',
        confidence: { value: 0.41, source: 'structured' },
        claims: [],
      },
      policyVersion: 'default.v1',
      expiresAt: expiresAt.toISOString(),
    },
    { producer: 'test' },
  );
}

describe('the escalation service on the real stack', () => {
  let service: EscalationService;
  let executor: ExecutorWorker;
  let publisher: TestPublisher;
  let out: EventCollector;
  let base: string;
  let echoed = 0;
  let receiver: Server;
  let mongoDb: string;
  const received: Received[] = [];

  beforeAll(async () => {
    // a receiver that refuses the first attempt of every delivery: each must then be retried and arrive once
    const refusedOnce = new Set<string>();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const delivery = String(req.headers[WebhookHeaders.delivery]);
        const signed = verifyWebhook(
          webhookSecret,
          req.headers[WebhookHeaders.timestamp] as string | undefined,
          body,
          req.headers[WebhookHeaders.signature] as string | undefined,
          new Date(),
        );
        const accepted = refusedOnce.has(delivery);
        refusedOnce.add(delivery);
        received.push({ delivery, accepted, signed, body: JSON.parse(body) as Received['body'] });
        res.writeHead(accepted ? 200 : 500).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const dir = await mkdtemp(join(tmpdir(), 'warden-esc-'));
    const tokenFile = join(dir, 'tokens.json');
    await writeFile(
      tokenFile,
      JSON.stringify([
        { token: tokens.ana, subject: 'ana', roles: ['approver'], tenants: ['tenant-a'] },
        { token: tokens.root, subject: 'root', roles: ['admin'], tenants: ['tenant-a'] },
        { token: tokens.vic, subject: 'vic', roles: ['viewer'], tenants: ['tenant-a'] },
        { token: tokens.bob, subject: 'bob', roles: ['approver'], tenants: ['tenant-b'] },
        { token: tokens.bea, subject: 'bea', roles: ['admin'], tenants: ['tenant-b'] },
      ]),
    );
    const runtime = testWorkerConfig(stack());
    mongoDb = runtime.mongoDb;
    const loaded = escalationConfigFrom({
      ...testKafkaEnv(stack()),
      ESCALATION_HTTP_PORT: '0',
      ESCALATION_SIGNING_KEY: keys.signingKeyText,
      ESCALATION_TOKENS_FILE: tokenFile,
      ESCALATION_EXPIRY_CHECK_MS: '100',
      ESCALATION_WEBHOOK_URLS: hook,
      ESCALATION_WEBHOOK_SECRET: webhookSecret,
      ESCALATION_WEBHOOK_BACKOFF_MS: '50',
    });
    service = createEscalationService({
      config: { ...loaded, runtime: { ...runtime, secretLiterals: loaded.runtime.secretLiterals ?? [] } },
    });
    executor = createExecutorWorker({
      runtime: {
        ...runtime,
        decisionTrust: { keys: new Map([[keys.verifyingKey.keyId, keys.verifyingKey]]), insecureAcceptUnsigned: false },
      },
      settings: testSettings(),
      tools: () => [
        testTool('test.echo', (a) => {
          echoed++;
          return Promise.resolve(a);
        }),
      ],
    });
    await service.start();
    await executor.start();
    publisher = await startTestPublisher(runtime);
    out = await EventCollector.start(
      stack(),
      ['verdicts', 'results', 'alerts'].map((k) => `${runtime.topicPrefix}.${k}.v1`),
      runtime.mongoDb,
    );
    const a = service.apiAddress()!;
    base = `http://${a.host}:${a.port}`;
  }, 120_000);

  afterAll(async () => {
    await out?.close();
    await publisher?.close();
    await executor?.close();
    await service?.close();
    await new Promise<void>((r) => (receiver === undefined ? r() : receiver.close(() => r())));
  });

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const pathOf = (taskId: string) =>
    `/tasks/${encodeURIComponent(taskId)}/escalations/${encodeURIComponent(`${taskId}:a1:guard`)}`;
  const seen = (taskId: string) =>
    waitUntil(async () => (await call('GET', pathOf(taskId), tokens.ana)).status === 200, {
      what: `escalation of ${taskId} in the API`,
    });
  const ofTask = (taskId: string, type: string): WardenEvent[] =>
    out.events().filter((e) => e.taskId === taskId && e.type === type);

  it('refuses every decision it must, then exactly one of racing approvals reaches the executor, which runs it', async () => {
    const args = { n: 7 };
    // The task first: the executor runs an approval only for a task it knows to be running, within its scope.
    await publisher.publish(...withTasks(escalation('esc-1', args, new Date(Date.now() + 3_600_000))));
    await seen('esc-1');
    const path = pathOf('esc-1');
    const bound = { argsHash: canonicalHash(args), policyVersion: 'default.v1' };

    const shown = await call('GET', path, tokens.vic);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ status: 'pending', requested: { action: { tool: 'test.echo', args } } });
    expect((await call('GET', '/escalations?status=pending', tokens.ana)).body.escalations).toHaveLength(1);
    expect((await call('GET', '/escalations', tokens.bob)).body.escalations).toHaveLength(0);

    const refusals = [
      [await call('POST', `${path}/approve`, undefined, bound), 401, 'unauthorized'],
      [await call('POST', `${path}/approve`, 'not-a-token-at-all-0123456789', bound), 401, 'unauthorized'],
      [await call('POST', `${path}/approve`, tokens.vic, bound), 403, 'forbidden'],
      [await call('POST', `${path}/approve`, tokens.bob, bound), 404, 'not_found'],
      [await call('GET', path, tokens.bob), 404, 'not_found'],
      [
        await call('POST', `${path}/approve`, tokens.ana, { ...bound, argsHash: canonicalHash({ n: 8 }) }),
        409,
        'args_changed',
      ],
      [
        await call('POST', `${path}/approve`, tokens.ana, { ...bound, policyVersion: 'default.v0' }),
        409,
        'stale_policy',
      ],
      [
        await call(
          'POST',
          `/tasks/esc-1/escalations/${encodeURIComponent('esc-1:a2:guard')}/approve`,
          tokens.ana,
          bound,
        ),
        404,
        'not_found',
      ],
      [await call('POST', `${path}/approve`, tokens.ana, {}), 422, 'unbound'],
    ] as const;
    for (const [res, status, code] of refusals) expect([res.status, res.body.error]).toEqual([status, code]);
    expect(ofTask('esc-1', 'HumanApproved')).toHaveLength(0);

    // five approvals race, from two people: exactly one decision
    const raced = await Promise.all(
      [tokens.ana, tokens.root, tokens.ana, tokens.root, tokens.ana].map((t) =>
        call('POST', `${path}/approve`, t, { ...bound, comment: 'refund is fine' }),
      ),
    );
    expect(raced.filter((r) => r.status === 200)).toHaveLength(1);
    expect(raced.filter((r) => r.status === 409 && r.body.error === 'already_decided')).toHaveLength(4);
    const approvalId = raced.find((r) => r.status === 200)!.body.eventId as string;

    const events = await out.waitFor(
      (es) => es.some((e) => e.type === 'ToolSucceeded' && e.causationId === approvalId),
      60_000,
      'the executor running the approved action',
    );
    const approvals = events.filter((e) => e.taskId === 'esc-1' && e.type === 'HumanApproved');
    expect(approvals).toHaveLength(1);
    const approval = approvals[0]!;
    if (approval.type !== 'HumanApproved') throw new Error('unreachable');
    expect(approval.data).toMatchObject({
      escalationId: 'esc-1:a1:guard',
      actionId: 'a1',
      argsHash: canonicalHash(args),
      policyVersion: 'default.v1',
      tool: 'test.echo',
      args,
      comment: 'refund is fine',
    });
    expect(['ana', 'root']).toContain(approval.data.decidedBy.id);
    expect(
      verifyDecision('HumanApproved', 'esc-1', 'tenant-a', approval.data, new Map([['esc-int', keys.verifyingKey]])),
    ).toEqual({ ok: true, keyId: 'esc-int' });
    expect(echoed).toBe(1);
    const after = await call('GET', path, tokens.ana);
    expect(after.body).toMatchObject({
      status: 'approved',
      decision: { outcome: 'approved', comment: 'refund is fine' },
    });
    expect((await call('POST', `${path}/deny`, tokens.ana, {})).status).toBe(409);

    // a decision altered after signing never runs
    const tampered = follow(
      { envelope: approval, hash: 'b'.repeat(64) },
      'HumanApproved',
      { ...approval.data, args: { n: 9 }, argsHash: canonicalHash({ n: 9 }) },
      { producer: 'mallory' },
    );
    await publisher.publish(tampered);
    const refused = await out.waitFor(
      (es) => es.some((e) => e.type === 'ToolFailed' && e.causationId === tampered.id),
      60_000,
      'the refusal of a tampered approval',
    );
    expect(refused.find((e) => e.causationId === tampered.id && e.type === 'ToolFailed')?.data).toMatchObject({
      errorClass: 'refused',
    });
    expect(echoed).toBe(1);
  });

  it('publishes a signed denial, and the executor runs nothing', async () => {
    await publisher.publish(escalation('esc-2', { n: 2 }, new Date(Date.now() + 3_600_000)));
    await seen('esc-2');
    const res = await call('POST', `${pathOf('esc-2')}/deny`, tokens.ana, { comment: 'wrong customer' });
    expect(res.status).toBe(200);
    const events = await out.waitFor((es) => es.some((e) => e.id === res.body.eventId), 30_000, 'the denial');
    const denial = events.find((e) => e.id === res.body.eventId)!;
    expect(denial.type).toBe('HumanDenied');
    if (denial.type === 'HumanDenied') {
      expect(denial.data).toMatchObject({ comment: 'wrong customer', decidedBy: { id: 'ana', role: 'approver' } });
      expect(
        verifyDecision('HumanDenied', 'esc-2', 'tenant-a', denial.data, new Map([['esc-int', keys.verifyingKey]])).ok,
      ).toBe(true);
    }
    expect((await call('GET', pathOf('esc-2'), tokens.ana)).body).toMatchObject({ status: 'denied' });
  });

  it('expires an escalation nobody decided: EscalationExpired, then approvals are refused (410)', async () => {
    await publisher.publish(escalation('esc-3', { n: 3 }, new Date(Date.now() + 2_000)));
    await seen('esc-3');
    const events = await out.waitFor(
      (es) => es.some((e) => e.taskId === 'esc-3' && e.type === 'EscalationExpired'),
      30_000,
      'the expiry',
    );
    expect(events.filter((e) => e.taskId === 'esc-3' && e.type === 'EscalationExpired')).toHaveLength(1);
    const res = await call('POST', `${pathOf('esc-3')}/approve`, tokens.ana, {
      argsHash: canonicalHash({ n: 3 }),
      policyVersion: 'default.v1',
    });
    expect([res.status, res.body.error]).toEqual([410, 'expired']);
    await waitUntil(async () => (await call('GET', pathOf('esc-3'), tokens.ana)).body.status === 'expired', {
      what: 'the expired status',
    });
    expect(ofTask('esc-3', 'HumanApproved')).toHaveLength(0);
  });

  it('delivers each new escalation and alert to the webhook once, signed, after retrying a refusal', async () => {
    const escalations = out.events().filter((e) => e.type === 'EscalationRequested');
    const alerts = out.events().filter((e) => e.type === 'AlertRaised');
    expect(escalations.length).toBeGreaterThanOrEqual(3);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    const wanted = [...escalations, ...alerts].map((e) => e.id);
    await waitUntil(() => wanted.every((id) => received.some((r) => r.accepted && r.body.eventId === id)), {
      what: 'every delivery accepted',
    });
    for (const id of wanted) {
      const attempts = received.filter((r) => r.body.eventId === id);
      expect(attempts.map((r) => r.accepted)).toEqual([false, true]);
      expect(attempts.every((r) => r.signed)).toBe(true);
    }
    expect(received.find((r) => r.body.eventId === escalations[0]!.id)?.body).toMatchObject({
      kind: 'escalation',
      payload: { taskId: escalations[0]!.taskId },
    });
    // a forged or replayed delivery does not verify
    const sample = received[0]!;
    expect(verifyWebhook('another-secret-0123456789-0123456789', String(Date.now()), '{}', 'v1=00', new Date())).toBe(
      false,
    );
    expect(verifyWebhook(webhookSecret, '1', JSON.stringify(sample.body), 'v1=00', new Date())).toBe(false);
    // each delivery's attempts are recorded
    const deliveries = service
      .deps()
      .db.collection<{ _id: string; status: string; attempts: unknown[] }>('escalation_webhook_deliveries');
    const recorded = await deliveries.findOne({ _id: sample.delivery });
    expect(recorded).toMatchObject({ status: 'delivered' });
    expect(recorded?.attempts).toHaveLength(2);
  });

  it('keeps parallel escalations of one task apart: each is shown, decided and run on its own', async () => {
    const far = new Date(Date.now() + 3_600_000);
    // The task first: the executor runs an approval only for a task it knows to be running, within its scope.
    await publisher.publish(...withTasks(escalation('esc-par', { n: 1 }, far, 'a1')));
    await publisher.publish(escalation('esc-par', { n: 2 }, far, 'a2'));
    const at = (actionId: string) => `/tasks/esc-par/escalations/${encodeURIComponent(`esc-par:${actionId}:guard`)}`;
    for (const id of ['a1', 'a2'])
      await waitUntil(async () => (await call('GET', at(id), tokens.ana)).status === 200, { what: `escalation ${id}` });
    expect((await call('GET', at('a1'), tokens.ana)).body).toMatchObject({ requested: { action: { args: { n: 1 } } } });
    expect((await call('GET', at('a2'), tokens.ana)).body).toMatchObject({ requested: { action: { args: { n: 2 } } } });
    const listed = (await call('GET', '/escalations?status=pending', tokens.ana)).body.escalations as {
      taskId: string;
    }[];
    expect(listed.filter((e) => e.taskId === 'esc-par')).toHaveLength(2);
    // a2's approval names a1's args: refused; each is then decided on its own
    const a2Bound = { argsHash: canonicalHash({ n: 2 }), policyVersion: 'default.v1' };
    expect((await call('POST', `${at('a1')}/approve`, tokens.ana, a2Bound)).body.error).toBe('args_changed');
    const ran = echoed;
    const approved = await call('POST', `${at('a1')}/approve`, tokens.ana, {
      argsHash: canonicalHash({ n: 1 }),
      policyVersion: 'default.v1',
    });
    const denied = await call('POST', `${at('a2')}/deny`, tokens.ana, { comment: 'one is enough' });
    expect([approved.status, denied.status]).toEqual([200, 200]);
    await out.waitFor(
      (es) => es.some((e) => e.type === 'ToolSucceeded' && e.causationId === approved.body.eventId),
      60_000,
      'the approved one run',
    );
    expect(echoed).toBe(ran + 1);
    expect((await call('GET', at('a1'), tokens.ana)).body.status).toBe('approved');
    expect((await call('GET', at('a2'), tokens.ana)).body.status).toBe('denied');
    const decisions = ofTask('esc-par', 'HumanApproved').concat(ofTask('esc-par', 'HumanDenied'));
    expect(decisions.map((e) => [e.type, (e.data as { actionId: string }).actionId]).sort()).toEqual([
      ['HumanApproved', 'a1'],
      ['HumanDenied', 'a2'],
    ]);
  });

  /** A planner's halt of `taskId` (tenant-a) for a loop: its escalation, then TaskHalted naming it. */
  async function halt(taskId: string, expiresAt: Date): Promise<{ path: string; haltId: string; haltSeq: number }> {
    const escalationId = `${taskId}:planner:2:loop`;
    const [asked] = await publisher.publish(
      follow(
        causeOf(taskId),
        'EscalationRequested',
        {
          escalationId,
          source: 'planner',
          reasonCode: 'loop_detected',
          reason: 'http.get failed 2 times with the same arguments',
          action: null,
          policyVersion: 'default.v1',
          expiresAt: expiresAt.toISOString(),
        },
        { producer: 'test' },
      ),
    );
    const [halted] = await publisher.publish(
      follow(
        { envelope: asked!.envelope, hash: asked!.hash },
        'TaskHalted',
        {
          reasonCode: 'loop_detected',
          message: 'loop',
          partial: { done: [], notDone: [], why: 'loop' },
          totals: { steps: 2, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
          escalationId,
        },
        { producer: 'test' },
      ),
    );
    const path = `/tasks/${taskId}/escalations/${encodeURIComponent(escalationId)}`;
    await waitUntil(async () => (await call('GET', path, tokens.root)).body.halt !== undefined, {
      what: `the halt of ${taskId}`,
    });
    return { path, haltId: halted!.envelope.id, haltSeq: halted!.envelope.seq };
  }

  it('resumes or cancels a halted task for an admin of its tenant only, once, signed and chained to the halt', async () => {
    const { path, haltId, haltSeq } = await halt('esc-halt', new Date(Date.now() + 3_600_000));
    const shown = await call('GET', path, tokens.vic);
    expect(shown.body).toMatchObject({ status: 'pending', halt: { eventId: haltId, reasonCode: 'loop_detected' } });
    expect(shown.body.task).toMatchObject({ breakers: { task: false } });

    await publisher.publish(escalation('esc-nohalt', { n: 4 }, new Date(Date.now() + 3_600_000)));
    await seen('esc-nohalt');
    const refusals = [
      [await call('POST', `${path}/resume`, undefined, {}), 401, 'unauthorized'],
      [await call('POST', `${path}/resume`, tokens.vic, {}), 403, 'forbidden'],
      [await call('POST', `${path}/cancel`, tokens.ana, {}), 403, 'forbidden'],
      [await call('POST', `${path}/resume`, tokens.bea, {}), 404, 'not_found'],
      [await call('POST', `${path}/cancel`, tokens.root, { grant: { tokens: 5 } }), 400, 'bad_request'],
      [await call('POST', `${path}/resume`, tokens.root, { grant: { tokens: -5 } }), 400, 'bad_request'],
      [await call('POST', `${pathOf('esc-nohalt')}/resume`, tokens.root, {}), 409, 'not_halted'],
      [await call('POST', `${path}/approve`, tokens.root, {}), 409, 'nothing_to_decide'],
    ] as const;
    for (const [res, status, code] of refusals) expect([res.status, res.body.error]).toEqual([status, code]);

    // an admin resumes and cancels at once, twice: exactly one answer
    const raced = await Promise.all(
      (['resume', 'cancel', 'resume', 'cancel'] as const).map((kind) =>
        call('POST', `${path}/${kind}`, tokens.root, kind === 'resume' ? { grant: { steps: 5 } } : {}),
      ),
    );
    expect(raced.filter((r) => r.status === 200)).toHaveLength(1);
    expect(raced.filter((r) => r.body.error === 'already_decided')).toHaveLength(3);
    const won = raced.find((r) => r.status === 200)!;
    const events = await out.waitFor((es) => es.some((e) => e.id === won.body.eventId), 30_000, 'the halt decision');
    const decision = events.find((e) => e.id === won.body.eventId)!;
    expect(decision).toMatchObject({ causationId: haltId, seq: haltSeq + 1, taskId: 'esc-halt' });
    if (decision.type !== 'TaskResumed' && decision.type !== 'TaskCancelled') throw new Error(decision.type);
    expect(decision.data).toMatchObject({
      haltEventId: haltId,
      haltReasonCode: 'loop_detected',
      decidedBy: { id: 'root', role: 'admin' },
    });
    const trust = { keys: new Map([['esc-int', keys.verifyingKey]]), insecureAcceptUnsigned: false };
    expect(authenticateHaltDecision(decision.type, 'esc-halt', 'tenant-a', decision.data, trust).ok).toBe(true);
    expect(
      authenticateHaltDecision(decision.type, 'esc-halt', 'tenant-b', decision.data, trust).ok,
      'bound to its tenant',
    ).toBe(false);
    await waitUntil(async () => (await call('GET', path, tokens.vic)).body.status === won.body.status, {
      what: 'the outcome shown',
    });
  });

  it("cancels a task's pending escalations when it ends, each by id from its state; a decided one stays decided", async () => {
    const expires = new Date(Date.now() + 3_600_000);
    await publisher.publish(escalation('esc-end', { n: 5 }, expires));
    const [secondEvent] = await publisher.publish(escalation('esc-end', { n: 6 }, expires, 'a2'));
    const second = `/tasks/esc-end/escalations/${encodeURIComponent('esc-end:a2:guard')}`;
    await seen('esc-end');
    await waitUntil(async () => (await call('GET', second, tokens.ana)).status === 200, { what: 'the second one' });
    const denied = await call('POST', second + '/deny', tokens.ana, { comment: 'no' });
    expect(denied.status).toBe(200);
    const totals = { steps: 1, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, costUsd: 0 };
    await publisher.publish(
      follow(
        { envelope: secondEvent!.envelope, hash: secondEvent!.hash },
        'TaskCompleted',
        { answer: 'done', totals },
        { producer: 'test' },
      ),
    );
    await waitUntil(async () => (await call('GET', pathOf('esc-end'), tokens.ana)).body.status === 'cancelled', {
      what: 'the pending escalation cancelled at the task end',
    });
    expect((await call('GET', second, tokens.ana)).body.status).toBe('denied');
  });

  it('refuses to resume a halt whose escalation expired (410)', async () => {
    const { path } = await halt('esc-halt-late', new Date(Date.now() + 1_500));
    await out.waitFor(
      (es) => es.some((e) => e.taskId === 'esc-halt-late' && e.type === 'EscalationExpired'),
      30_000,
      'the expiry',
    );
    const res = await call('POST', `${path}/resume`, tokens.root, {});
    expect([res.status, res.body.error]).toEqual([410, 'expired']);
  });

  it("shows a proposal's sealed personal data opened to those who decide, and sealed to a viewer (ADR 0026)", async () => {
    const mongo = new MongoClient(stack().mongoUrl);
    await mongo.connect();
    try {
      const subjectKeys = new MongoSubjectKeyStore(mongo.db(mongoDb));
      const piece = await sealedTextPiece(subjectKeys, 'tenant-a:cus_5', 'eve@example.com');
      await publisher.publish(
        escalation('esc-sealed', { to: piece, note: `write to ${piece}` }, new Date(Date.now() + 3_600_000)),
      );
      await seen('esc-sealed');
      const argsShown = async (token: string) =>
        ((await call('GET', pathOf('esc-sealed'), token)).body as { requested: { action: { args: unknown } } })
          .requested.action.args;
      expect(await argsShown(tokens.ana)).toEqual({ to: 'eve@example.com', note: 'write to eve@example.com' });
      expect(await argsShown(tokens.root)).toEqual({ to: 'eve@example.com', note: 'write to eve@example.com' });
      const sealed = '[sealed: tenant-a:cus_5]';
      expect(await argsShown(tokens.vic)).toEqual({ to: sealed, note: `write to ${sealed}` });
    } finally {
      await mongo.close();
    }
  });

  it('serves its OpenAPI document without a token', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths as object)).toContain('/tasks/{taskId}/escalations/{escalationId}/approve');
  });
});
