import {
  ERASED_VALUE,
  MongoSubjectKeyStore,
  isSealed,
  openSealed,
  terminalEventTypes,
  verifyChain,
  type JsonValue,
  type WardenEvent,
} from '@warden/contracts';
import { createAuditor, type Auditor } from '@warden/auditor';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKafkaEnv, waitUntil } from '@warden/runtime/testing';
import { startPipeline, type Pipeline } from '../../infra/pipeline.js';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

/** Runs the Python subscriber example over the pipeline's topics; its stdout. */
function pythonSubscriber(brokers: string, registry: string, topics: string[], group: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(
      'python3',
      [
        'examples/python-subscriber/subscriber.py',
        ...['--brokers', brokers, '--registry', registry, '--topics', topics.join(','), '--group', group],
        ...['--idle-seconds', '5'],
      ],
      {
        cwd: resolve(import.meta.dirname, '../..'),
        // The stack's Kafka credentials (SASL, ADR 0019), as the Python subscriber test passes them.
        env: { ...process.env, ...testKafkaEnv(stack()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`subscriber exited ${code}: ${out}`))));
  });
}

/** `warden erase` against a running pipeline whose executor seals personal data (ADR 0026). */
describe('warden erase', () => {
  let p: Pipeline;
  let env: Record<string, string>;
  let auditor: Auditor;
  const readerKey = 'erase-reader-key-0123456789';
  const privacyKey = 'erase-privacy-key-0123456789';
  beforeAll(async () => {
    p = await startPipeline(stack(), 'warn', 0, { executorEnv: { EXECUTOR_SEALING: 'subject' } });
    env = { ...testEnv('cli-erase'), WARDEN_TOPIC_PREFIX: p.config.topicPrefix, MONGO_DB: p.config.mongoDb };
    auditor = createAuditor({
      config: {
        // no key cache: `warden erase` (another process) holds for the auditor's readers at once
        runtime: { ...p.config, subjectKeyCache: { ttlMs: 0, maxKeys: 1 } },
        apiKeys: [{ tenantId: 'tenant-demo', key: readerKey }],
        personalDataKeys: [{ tenantId: 'tenant-demo', key: privacyKey }],
        apiPort: 0,
        apiHost: '127.0.0.1',
        checkpointKey: 'erase-checkpoint-key-0123456789abcdef0123',
        checkpointIntervalMs: 3_600_000,
        settleMs: 100,
        maxTasksInMemory: 1_000,
      },
    });
    await auditor.start();
  }, 180_000);
  afterAll(async () => {
    await auditor?.close();
    await p?.close();
  });

  /** The first customer row of task er-1's ToolSucceeded, as the auditor's timeline shows it to a key's holder. */
  async function rowShown(key: string): Promise<Record<string, JsonValue> | undefined> {
    const a = auditor.apiAddress()!;
    const res = await fetch(`http://${a.host}:${a.port}/v1/tasks/er-1/timeline`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as {
      events: { type: string; data: { result?: { rows: Record<string, JsonValue>[] } } }[];
    };
    return body.events.find((e) => e.type === 'ToolSucceeded')?.data.result?.rows[0];
  }

  it('the guard grounds an action in a sealed result by opening it in memory, and publishes no clear result', async () => {
    await p.submit('er-ground', 'sealed-grounding', {
      goal: 'Tell customer cus_1042 that their refund is on its way.',
      input: { customerId: 'cus_1042' },
      scope: {
        tools: ['customers.query', 'email.send'],
        resources: { collections: ['customers'], recipients: ['*@example.com'] },
      },
    });
    const end = await p.waitFor('er-ground', (e) => terminalEventTypes.has(e.type) || e.type === 'EscalationRequested');
    const events = p.taskEvents('er-ground');
    expect(end.type, JSON.stringify(events.map((e) => [e.type, e.data]))).toBe('TaskCompleted');
    // the address the e-mail went to was grounded in the sealed lookup: approved, not escalated
    expect(events.some((e) => e.type === 'ActionApproved' && e.data.tool === 'email.send')).toBe(true);
    const query = events.find(
      (e): e is Extract<WardenEvent, { type: 'ToolSucceeded' }> =>
        e.type === 'ToolSucceeded' && e.data.tool === 'customers.query',
    );
    const row = (query!.data.result as { rows: Record<string, JsonValue>[] }).rows[0]!;
    expect(isSealed(row.email)).toBe(true);
    // what the planner gave the model (ModelCalled) keeps the result sealed
    for (const e of events.filter((x) => x.type === 'ModelCalled')) {
      expect(JSON.stringify(e.data)).not.toContain('Ada Lovelace');
    }
    // what the model repeated (the address, the name) is published sealed, and opens to what it wrote
    const mail = events.find(
      (e): e is Extract<WardenEvent, { type: 'ActionProposed' }> =>
        e.type === 'ActionProposed' && e.data.tool === 'email.send',
    )!;
    expect(JSON.stringify(mail.data)).not.toContain('ada@example.com');
    const keys = new MongoSubjectKeyStore(p.db);
    await expect(openSealed(keys, mail.data.args)).resolves.toMatchObject({
      to: ['ada@example.com'],
      body: 'Dear Ada Lovelace, your refund is on its way.',
    });
    const completed = events.find((e) => e.type === 'TaskCompleted') as Extract<WardenEvent, { type: 'TaskCompleted' }>;
    expect(completed.data.answer).not.toContain('Ada Lovelace');
    await expect(openSealed(keys, completed.data.answer)).resolves.toBe(
      'Told Ada Lovelace (customer cus_1042) that their refund is on its way.',
    );
  }, 180_000);

  it("keeps a customer's personal data out of the log in clear, and erases it with the key while the chain verifies", async () => {
    await p.submit('er-1', 'refund-happy', {
      goal: 'Look the customer up',
      input: {},
      scope: { tools: ['customers.query'], resources: { collections: ['customers'] } },
      plan: {
        steps: [
          {
            actionId: 'q1',
            tool: 'customers.query',
            args: { collection: 'customers', filter: { id: 'cus_1042' } },
            reasoning: 'look up',
          },
        ],
      },
    });
    const approved = new Set<string>();
    let end: WardenEvent;
    for (;;) {
      end = await p.waitFor(
        'er-1',
        (e) =>
          terminalEventTypes.has(e.type) || (e.type === 'EscalationRequested' && !approved.has(e.data.escalationId)),
      );
      if (end.type !== 'EscalationRequested') break;
      approved.add(end.data.escalationId); // the closing answer cites no evidence: a person approves it
      await p.approve('er-1', end.data.escalationId, 'checked');
    }
    expect(end.type, JSON.stringify(p.taskEvents('er-1').map((e) => [e.type, e.data]))).toBe('TaskCompleted');
    const succeeded = p
      .taskEvents('er-1')
      .find((e): e is Extract<WardenEvent, { type: 'ToolSucceeded' }> => e.type === 'ToolSucceeded');
    const row = (succeeded!.data.result as { rows: Record<string, JsonValue>[] }).rows[0]!;
    expect(row.id).toBe('cus_1042');
    expect(isSealed(row.email)).toBe(true);
    // a reader with the keys (the role that may read the key store) sees the clear value
    const keys = new MongoSubjectKeyStore(p.db);
    await expect(openSealed(keys, row)).resolves.toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace' });

    // the auditor's timeline: clear to a personal-data key, sealed (whose, never what) to any other
    const clearRow = await waitUntil(() => rowShown(privacyKey), {
      timeoutMs: 60_000,
      what: 'the task in the auditor',
    });
    expect(clearRow).toMatchObject({ id: 'cus_1042', email: 'ada@example.com', name: 'Ada Lovelace' });
    expect(await rowShown(readerKey)).toMatchObject({
      id: 'cus_1042',
      email: '[sealed: tenant-demo:cus_1042]',
      name: '[sealed: tenant-demo:cus_1042]',
    });

    const erased = await warden(['erase', 'cus_1042', '--tenant', 'tenant-demo', '--reason', 'test', '--json'], env);
    expect(erased.code, erased.stderr).toBe(0);
    expect(JSON.parse(erased.stdout)).toMatchObject({ subject: 'tenant-demo:cus_1042', keysDeleted: 1 });

    // the erasure is an audit event; afterwards the value reads as erased, and the chain still verifies
    await p.events.waitFor(
      (es) => es.some((e) => e.type === 'SubjectErased' && e.data.subject === 'tenant-demo:cus_1042'),
      30_000,
      'the SubjectErased event',
    );
    await expect(openSealed(keys, row)).resolves.toMatchObject({ email: ERASED_VALUE, name: ERASED_VALUE });
    for (const key of [privacyKey, readerKey]) {
      expect(await rowShown(key)).toMatchObject({ id: 'cus_1042', email: ERASED_VALUE, name: ERASED_VALUE });
    }
    const chain = verifyChain(
      p.events.messages.filter((m) => m.decoded?.event.taskId === 'er-1').map((m) => m.decoded!.envelope),
      'er-1',
    );
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
    // a downstream reader without keys (the Python subscriber) lists the subject's fields as erased
    const stack_ = stack();
    const out = await pythonSubscriber(
      stack_.kafkaBrokers,
      stack_.schemaRegistryUrl,
      ['tasks', 'planning', 'proposals', 'verdicts', 'results', 'outcomes', 'alerts'].map(
        (k) => `${p.config.topicPrefix}.${k}.v1`,
      ),
      `${p.config.topicPrefix}.python`,
    );
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as {
      erasedSubjects: string[];
      erasedFields: { taskId: string; path: string }[];
    };
    expect(summary.erasedSubjects).toContain('tenant-demo:cus_1042');
    expect(summary.erasedFields.filter((f) => f.taskId === 'er-1').map((f) => f.path)).toEqual(
      expect.arrayContaining(['data.result.rows[0].name', 'data.result.rows[0].email']),
    );
    // and the pieces the planner sealed in what the model wrote (er-ground's e-mail to the subject)
    expect(summary.erasedFields.filter((f) => f.taskId === 'er-ground').map((f) => f.path)).toEqual(
      expect.arrayContaining(['data.args.to[0]', 'data.args.body']),
    );
    // no topic's raw bytes hold the clear data: the tool results nor what the model repeated of them (er-ground's
    // e-mail, its answer), which the planner sealed again
    const all = p.events.messages;
    expect(all.filter((m) => m.decoded?.event.taskId === 'er-ground').length).toBeGreaterThan(0);
    for (const m of all) {
      const raw = (m.message.value ?? Buffer.alloc(0)).toString('utf8').toLowerCase();
      for (const clear of ['ada@example.com', 'ada lovelace']) {
        expect(raw.includes(clear), `${m.topic} ${m.decoded?.event.type}`).toBe(false);
      }
    }
    // and what the model repeated reads as erased, while er-ground's chain verifies too
    const ground = p.taskEvents('er-ground');
    const mail = ground.find(
      (e): e is Extract<WardenEvent, { type: 'ActionProposed' }> =>
        e.type === 'ActionProposed' && e.data.tool === 'email.send',
    )!;
    await expect(openSealed(keys, mail.data.args)).resolves.toMatchObject({
      to: [ERASED_VALUE],
      body: `Dear ${ERASED_VALUE}, your refund is on its way.`,
    });
    const groundChain = verifyChain(
      all.filter((m) => m.decoded?.event.taskId === 'er-ground').map((m) => m.decoded!.envelope),
      'er-ground',
    );
    expect(groundChain.ok, JSON.stringify(groundChain)).toBe(true);
    // nor does the executor's effect ledger in MongoDB: it records the result sealed, as the log has it
    const outcome = await p.db.collection('executor_effects').findOne({ _id: 'er-1:q1#outcome' } as never);
    expect(outcome).toMatchObject({ status: 'committed' });
    for (const clear of ['ada@example.com', 'Ada Lovelace']) expect(JSON.stringify(outcome)).not.toContain(clear);
  }, 300_000);
});
