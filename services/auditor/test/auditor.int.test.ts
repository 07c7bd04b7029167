import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sampleProposal, sampleTask } from '@warden/contracts/testing';
import { DEFAULT_POLICY_FILE, loadPolicy } from '@warden/policy';
import {
  canonicalHash,
  follow,
  newTask,
  verifyChain,
  type EncodedEvent,
  type EventDraft,
  type WireEnvelope,
} from '@warden/contracts';
import { createKafka, ensureTopics } from '@warden/runtime';
import { EventCollector, testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import {
  AuditStore,
  AuditorErrorCodes,
  backtestProjection,
  createAuditor,
  rebuildProjection,
  type Auditor,
  type AuditorConfig,
  type AuditorOptions,
  type TaskDoc,
} from '../src/index.js';
import { KEY_A, KEY_B, auditorTestConfig, encodeChain, fullTaskSteps, startWire, type TestWire } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(over: Partial<AuditorConfig> = {}, onProjected?: AuditorOptions['onProjected']) {
  const runtime = testWorkerConfig(stack());
  const config = auditorTestConfig(runtime, over);
  const wire: TestWire = await startWire(runtime);
  cleanups.push(() => wire.close());
  const auditor = createAuditor({ config, ...(onProjected === undefined ? {} : { onProjected }) });
  cleanups.push(() => auditor.close());
  await auditor.start();
  const addr = auditor.apiAddress()!;
  const base = `http://${addr.host}:${addr.port}`;
  const get = async (path: string, key?: string) => {
    const res = await fetch(`${base}${path}`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };
  const json = async (path: string, key: string) => JSON.parse((await get(path, key)).text) as Record<string, unknown>;
  const task = (taskId: string) => auditor.store().tasks.findOne({ _id: taskId });
  const waitTask = (taskId: string, ok: (t: TaskDoc) => boolean, what: string, timeoutMs = 30_000) =>
    waitUntil(
      async () => {
        const t = await task(taskId);
        return t !== null && ok(t) ? t : undefined;
      },
      { timeoutMs, what },
    );
  return { runtime, config, wire, auditor, get, json, task, waitTask };
}

const lines = (text: string): WireEnvelope[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as WireEnvelope);

describe('auditor on the real stack', () => {
  it('projects timelines, totals and final output, and serves each task only to its own tenant', async () => {
    const s = await setup();
    const a = await encodeChain(s.wire.deps.codec, 'task-a1', 'tenant-a', fullTaskSteps('customers.query'));
    const b = await encodeChain(s.wire.deps.codec, 'task-b1', 'tenant-b', fullTaskSteps('files.read'));
    await s.wire.send([...a, ...b]);
    const ta = await s.waitTask('task-a1', (t) => t.eventCount === 8 && t.chain.status === 'ok', 'task-a1 projected');
    await s.waitTask('task-b1', (t) => t.eventCount === 8, 'task-b1 projected');
    expect(ta).toMatchObject({
      tenantId: 'tenant-a',
      status: 'completed',
      tools: ['customers.query'],
      rules: ['allow-read'],
      tokens: { prompt: 200, completion: 40, total: 240 },
      costUsd: 0.003,
      final: { type: 'TaskCompleted', answer: 'refunded', output: { refunded: true } },
      chain: { status: 'ok', count: 8, head: { seq: 7, hash: a[7]!.hash } },
    });

    // timeline: every step in chain order, with its kind
    const timeline = await s.json('/v1/tasks/task-a1/timeline', KEY_A);
    const events = timeline.events as Array<{ seq: number; kind: string; hash: string; data: unknown }>;
    expect(events.map((e) => e.kind)).toEqual([
      'task',
      'prompt',
      'model_response',
      'proposal',
      'verdict',
      'tool_result',
      'model_response',
      'outcome',
    ]);
    expect(events.map((e) => e.hash)).toEqual(a.map((e) => e.hash));

    // search by tenant, status, tool, rule and time
    const search = async (q: string, key = KEY_A) =>
      ((await s.json(`/v1/tasks?${q}`, key)).tasks as Array<{ taskId: string }>).map((t) => t.taskId);
    expect(await search('')).toEqual(['task-a1']);
    expect(await search('status=completed&tool=customers.query&rule=allow-read')).toEqual(['task-a1']);
    expect(await search('tool=files.read')).toEqual([]);
    expect(await search('tool=files.read', KEY_B)).toEqual(['task-b1']);
    expect(await search(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect(
      await search(`to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&status=completed`),
    ).toEqual(['task-a1']);
    expect((await s.get('/v1/tasks?status=bogus', KEY_A)).status).toBe(400);

    // tenant isolation: another tenant's task is a 404 on every route, and a missing key is a 401
    for (const path of ['', '/timeline', '/export', '/verify']) {
      expect((await s.get(`/v1/tasks/task-a1${path}`, KEY_B)).status).toBe(404);
      expect((await s.get(`/v1/tasks/task-a1${path}`)).status).toBe(401);
      expect((await s.get(`/v1/tasks/task-a1${path}`, 'not-a-key-at-all-000000')).status).toBe(401);
    }

    // export: JSON Lines of wire envelopes that verify as a chain
    const exported = await s.get('/v1/tasks/task-a1/export', KEY_A);
    expect(exported.type).toContain('application/x-ndjson');
    const verdict = verifyChain(lines(exported.text), 'task-a1');
    expect(verdict).toMatchObject({ ok: true, count: 8, head: { seq: 7, hash: a[7]!.hash } });

    // signed checkpoint, then on-demand verification: complete
    await s.auditor.tick();
    const cp = await s.auditor.store().latestCheckpoint('task-a1');
    expect(cp).toMatchObject({ count: 8, head: { seq: 7, hash: a[7]!.hash }, terminal: true });
    expect(await s.json('/v1/tasks/task-a1/verify', KEY_A)).toMatchObject({ status: 'complete', problems: [] });

    // the projection loses its trailing event: verification of the stored record says truncated, naming the head the
    // checkpoint saw (by default it answers from the events in memory, which the projection's loss does not touch)
    await s.auditor.store().events.deleteOne({ _id: a[7]!.hash });
    expect(await s.json('/v1/tasks/task-a1/verify', KEY_A)).toMatchObject({ status: 'complete' });
    const truncated = await s.json('/v1/tasks/task-a1/verify?source=store', KEY_A);
    expect(truncated).toMatchObject({ status: 'incomplete' });
    expect(truncated.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'no_terminal_event' }),
        expect.objectContaining({
          kind: 'truncated',
          expectedCount: 8,
          actualCount: 7,
          expectedHead: { seq: 7, hash: a[7]!.hash },
        }),
      ]),
    );

    const openapi = JSON.parse((await s.get('/openapi.json')).text) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/tasks', '/v1/tasks/{taskId}/timeline', '/v1/tasks/{taskId}/export']),
    );
  });

  it('raises AlertRaised (audit_chain_broken) naming the task and the link for altered, dropped and duplicated events', async () => {
    const s = await setup();
    const alerts = await EventCollector.start(stack(), [`${s.runtime.topicPrefix}.alerts.v1`], s.runtime.mongoDb);
    cleanups.push(() => alerts.close());
    const codec = s.wire.deps.codec;
    // altered: event 3 replaced by an event with the same id and other content; its successor names the old hash
    const altered = await encodeChain(codec, 'task-altered', 'tenant-a', fullTaskSteps());
    const forged: EncodedEvent = await codec.encode({
      ...(altered[3]!.envelope as object as EventDraft),
      data: { ...(altered[3]!.envelope.data as object), tool: 'customers.delete' } as never,
    });
    // dropped: event 4 never reaches the log
    const dropped = await encodeChain(codec, 'task-dropped', 'tenant-a', fullTaskSteps());
    // duplicated with other content: a second event carrying event 2's id
    const dup = await encodeChain(codec, 'task-dup', 'tenant-b', fullTaskSteps());
    const twin = await codec.encode({
      ...(dup[2]!.envelope as object as EventDraft),
      occurredAt: '2030-01-01T00:00:00.000Z',
    });
    // two workers' alerts about dead letters of one task: each a chain of its own under dlq.<taskId>, not a break
    const deadLetterAlert = () =>
      codec.encode({
        ...(newTask(sampleTask(), {
          tenantId: 'tenant-a',
          taskId: 'dlq.task-poisoned',
          producer: 'guard@0.1.0',
        }) as object),
        type: 'AlertRaised',
        data: {
          alertId: `dead-letter:${randomUUID()}`,
          code: 'dead_lettered',
          severity: 'warning',
          message: 'dead-lettered',
          subject: { taskId: 'task-poisoned' },
        },
      } as unknown as EventDraft);
    const deadLetterAlerts = [await deadLetterAlert(), await deadLetterAlert()];
    await s.wire.send([
      ...deadLetterAlerts,
      ...altered.slice(0, 3),
      forged,
      ...altered.slice(4),
      ...dropped.slice(0, 4),
      ...dropped.slice(5),
      ...dup,
      twin,
    ]);
    await s.waitTask('task-dropped', (t) => t.eventCount === 7, 'task-dropped projected');
    const byTask = (taskId: string) =>
      alerts.events().filter((e) => e.type === 'AlertRaised' && e.data.subject.taskId === taskId);
    // A tick settles the tasks quiet for settleMs (100 ms): then the dropped cause can no longer be in flight.
    await waitUntil(
      async () => {
        await s.auditor.tick();
        return ['task-altered', 'task-dropped', 'task-dup'].every((t) => byTask(t).length > 0);
      },
      { timeoutMs: 30_000, what: 'three alerts' },
    );
    const first = (taskId: string) => {
      const e = byTask(taskId)[0]!;
      return e.type === 'AlertRaised' ? { ...e.data, taskId: e.taskId, tenantId: e.tenantId } : undefined;
    };
    expect(first('task-altered')).toMatchObject({
      code: 'audit_chain_broken',
      severity: 'critical',
      taskId: 'audit.task-altered',
      tenantId: 'tenant-a',
      subject: { taskId: 'task-altered', kind: 'altered', seq: '3', eventId: altered[3]!.envelope.id },
    });
    expect(first('task-dropped')).toMatchObject({
      subject: { kind: 'missing', seq: '4', eventId: dropped[4]!.envelope.id },
    });
    expect(first('task-dup')).toMatchObject({
      tenantId: 'tenant-b',
      subject: { kind: 'conflicting_id', seq: '2', eventId: dup[2]!.envelope.id },
    });
    const t = await s.task('task-altered');
    expect(t?.chain.status).toBe('broken');
    expect(t?.alerts.length).toBeGreaterThan(0);
    // on demand, from the projection, the verifier names the same link
    const v = await s.json('/v1/tasks/task-altered/verify', KEY_A);
    expect(v).toMatchObject({
      status: 'broken',
      chain: { ok: false, firstBreak: { kind: 'altered', seq: 3, eventId: altered[3]!.envelope.id } },
    });
    expect(byTask('dlq.task-poisoned')).toEqual([]);
    // the auditor's own alerts are not tasks, and a replay raises nothing twice
    expect(await s.auditor.store().tasks.countDocuments({ _id: /^audit\./ })).toBe(0);
    expect(await s.auditor.store().alerts.countDocuments({ published: true })).toBe(
      await s.auditor.store().alerts.countDocuments(),
    );
  });

  it('verifies a task from the events it holds in memory, and from MongoDB once they are not cached', async () => {
    const cached = await setup();
    const uncached = await setup({ verifyCacheBytes: 0 });
    for (const s of [cached, uncached]) {
      await s.wire.send(await encodeChain(s.wire.deps.codec, 'task-v', 'tenant-a', fullTaskSteps()));
      await s.waitTask('task-v', (t) => t.eventCount === 8 && t.chain.status === 'ok', 'task-v projected');
      await s.auditor.tick(); // a checkpoint
      expect(await s.json('/v1/tasks/task-v/verify', KEY_A)).toMatchObject({
        status: 'complete',
        chain: { ok: true, count: 8 },
        checkpoint: { count: 8 },
      });
      expect((await s.get('/v1/tasks/task-v/verify', KEY_B)).status).toBe(404);
      // Which copy answers: with the stored events gone, only the one in memory still holds the whole chain.
      await s.auditor.store().events.deleteMany({ taskId: 'task-v' });
    }
    expect(await cached.json('/v1/tasks/task-v/verify', KEY_A)).toMatchObject({ status: 'complete' });
    const truncated = {
      status: 'incomplete',
      problems: expect.arrayContaining([expect.objectContaining({ kind: 'truncated' })]),
    };
    expect(await cached.json('/v1/tasks/task-v/verify?source=store', KEY_A)).toMatchObject(truncated);
    expect(await uncached.json('/v1/tasks/task-v/verify', KEY_A)).toMatchObject(truncated);
    expect((await cached.get('/v1/tasks/task-v/verify?source=bogus', KEY_A)).status).toBe(400);
  });

  it('records a task with a 5 MB tool result and a task of 10,000 steps whole, and a rebuild equals the live projection', async () => {
    const s = await setup();
    const codec = s.wire.deps.codec;
    const big = 'x'.repeat(5 * 1024 * 1024);
    const steps = fullTaskSteps();
    steps[4] = [
      'ToolSucceeded',
      { actionId: 'a1', tool: 'customers.query', effectKey: 't:a1', result: { blob: big }, durationMs: 3 },
    ];
    const large = await encodeChain(codec, 'task-5mb', 'tenant-a', steps);
    expect(large[5]!.envelope.data).toHaveProperty('$claimCheck');
    const long = await encodeChain(
      codec,
      'task-10k',
      'tenant-a',
      Array.from(
        { length: 10_000 },
        (_, i) =>
          [
            'ToolSucceeded',
            { actionId: `a${i}`, tool: 'customers.query', effectKey: `k${i}`, result: { i }, durationMs: 1 },
          ] as const,
      ),
    );
    const broken = await encodeChain(codec, 'task-broken', 'tenant-b', fullTaskSteps());
    await s.wire.send([...large, ...long, ...broken.slice(0, 3), ...broken.slice(4)]);
    await s.waitTask('task-5mb', (t) => t.eventCount === 8 && t.chain.status === 'ok', '5 MB task', 30_000);
    const t10k = await s.waitTask('task-10k', (t) => t.eventCount === 10_001, '10,000-step task', 55_000);
    expect(t10k.chain).toMatchObject({ status: 'ok', count: 10_001, head: { seq: 10_000, hash: long.at(-1)!.hash } });
    await s.waitTask('task-broken', (t) => t.eventCount === 7, 'broken task');

    const exported = await s.get('/v1/tasks/task-5mb/export?resolve=true', KEY_A);
    const resolved = lines(exported.text)[5]!;
    expect((resolved.data as { result: { blob: string } }).result.blob).toHaveLength(big.length);
    const plain = lines((await s.get('/v1/tasks/task-10k/export', KEY_A)).text);
    expect(plain).toHaveLength(10_001);
    expect(verifyChain(plain, 'task-10k')).toMatchObject({ ok: true, count: 10_001 });
    expect(canonicalHash(plain[10_000])).toBe(long.at(-1)!.hash);

    // rebuild: drop the projection, replay the log, compare with the live projection
    await waitUntil(
      async () => {
        await s.auditor.tick(); // settle the broken task as the live auditor would, once it has been quiet settleMs
        return (await s.task('task-broken'))?.chain.status === 'broken';
      },
      { what: 'the broken task settled' },
    );
    const store = new AuditStore(s.wire.deps.db);
    const snapshot = async () => ({
      tasks: await store.tasks.find({}).sort({ _id: 1 }).toArray(),
      events: (await store.events.find({}).toArray()).sort((x, y) => x._id.localeCompare(y._id)),
    });
    const live = await snapshot();
    expect(live.tasks.map((t) => t._id)).toEqual(['task-10k', 'task-5mb', 'task-broken']);
    expect(live.tasks.find((t) => t._id === 'task-broken')?.chain.status).toBe('broken');
    await s.auditor.close();
    const report = await rebuildProjection({ deps: s.wire.deps });
    expect(report.tasks).toBe(3);
    const rebuilt = await snapshot();
    expect(rebuilt.events.length).toBe(live.events.length);
    expect(rebuilt.tasks).toEqual(live.tasks);
    expect(rebuilt.events).toEqual(live.events);
  }, 120_000);

  it('keeps up under load: 2,000 events of 250 interleaved tasks, sent round after round, all projected and verified', async () => {
    let projected = 0;
    const s = await setup({}, (inputs) => void (projected += inputs.length));
    const tasks = await Promise.all(
      Array.from({ length: 250 }, (_, i) =>
        encodeChain(s.wire.deps.codec, `load-${i}`, i % 2 === 0 ? 'tenant-a' : 'tenant-b', fullTaskSteps()),
      ),
    );
    // round r sends step r of every task, 250 events interleaved over 250 keys, once round r - 1 is projected
    const rounds = tasks[0]!.length;
    for (let r = 0; r < rounds; r++) {
      const fresh = [];
      for (const chain of tasks) fresh.push(chain[r]!);
      await s.wire.send(fresh);
      await waitUntil(() => projected >= (r + 1) * tasks.length, { what: `round ${r} projected` });
    }
    await waitUntil(
      async () => (await s.auditor.store().tasks.countDocuments({ status: 'completed', 'chain.status': 'ok' })) === 250,
      {
        timeoutMs: 30_000,
        what: '250 completed tasks',
      },
    );
    expect(projected).toBeGreaterThanOrEqual(2_000);
  }, 90_000);

  it('backtests the recorded proposals of the projection against a candidate policy, with no side effects', async () => {
    const s = await setup();
    const args = { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
    const hash = canonicalHash({});
    const chain = await encodeChain(s.wire.deps.codec, 'task-bt', 'tenant-a', [
      ['ActionProposed', sampleProposal({ reasoning: 'r' })],
    ]);
    const proposal = chain.at(-1)!;
    chain.push(
      await s.wire.deps.codec.encode(
        follow(
          proposal,
          'ActionApproved',
          {
            proposalEventId: proposal.envelope.id,
            proposalKind: 'action',
            actionId: 'a1',
            rulesEvaluated: [],
            ruleFired: null,
            reasonCode: 'allowed',
            policyVersion: 'default.v1',
            inputHashes: { proposal: hash, state: hash, policy: hash },
            tool: 'customers.update',
            args,
            argsHash: canonicalHash(args),
            impact: { rows: 1, files: 0, recipients: 0, moneyUsd: 0 },
          },
          { producer: 'guard' },
        ),
      ),
    );
    await s.wire.send(chain);
    await s.waitTask('task-bt', (t) => t.eventCount === 3, 'the task projected');
    const doc = JSON.parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as { rules: Array<{ id: string; mode: string }> };
    const candidate = loadPolicy({
      ...doc,
      version: 'candidate',
      rules: doc.rules.map((r) => (r.id === 'destructive-without-claims' ? { ...r, mode: 'enforce' } : r)),
    });
    const eventsBefore = await s.auditor.store().events.countDocuments();
    const report = await backtestProjection(s.auditor.store(), s.wire.deps.blobs, candidate, { tenantId: 'tenant-a' });
    expect(report).toMatchObject({ policyVersion: 'candidate', tasks: 1, proposals: 1, unjudged: 0 });
    expect(report.changed).toHaveLength(1);
    expect(report.changed[0]).toMatchObject({
      actionId: 'a1',
      candidate: { outcome: 'escalate', ruleFired: 'destructive-without-claims' },
    });
    expect(await s.auditor.store().events.countDocuments()).toBe(eventsBefore);
  });

  it('refuses to start, naming the topic and setting, when a topic would lose audit data', async () => {
    const runtime = testWorkerConfig(stack());
    const kafka = createKafka(runtime.brokers, 'auditor-test-admin', pino({ level: 'error' }), runtime.kafkaSecurity);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [`${runtime.topicPrefix}.results.v1`], { configs: { 'retention.ms': '86400000' } });
      await ensureTopics(admin, [`${runtime.topicPrefix}.tasks.v1`], { configs: { 'cleanup.policy': 'compact' } });
    } finally {
      await admin.disconnect();
    }
    const auditor: Auditor = createAuditor({ config: auditorTestConfig(runtime) });
    cleanups.push(() => auditor.close());
    const error = await auditor.start().then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe(AuditorErrorCodes.topicSettings);
    expect(error?.message).toContain(`${runtime.topicPrefix}.results.v1: retention.ms=86400000`);
    expect(error?.message).toContain(`${runtime.topicPrefix}.tasks.v1: cleanup.policy=compact`);
    expect(auditor.state()).toBe('failed');
  });
});
