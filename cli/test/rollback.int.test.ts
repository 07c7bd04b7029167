import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { terminalEventTypes, verifyChain, type EventDataInput, type WardenEvent } from '@warden/contracts';
import { publicRecord } from '@warden/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../../infra/pipeline.js';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

const terminal = (e: WardenEvent): boolean => terminalEventTypes.has(e.type);

/** Every file of the workspace (hidden temporary files aside), by path, with its content. */
async function filesOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(root, path)] = await readFile(path, 'utf8');
  }
  return out;
}

/** The original task: a given plan that updates, deletes, writes, creates, removes and sends (ADR 0026). */
const steps: EventDataInput<'TaskSubmitted'>['plan'] = {
  steps: [
    {
      actionId: 'a1',
      tool: 'customers.update',
      args: {
        collection: 'customers',
        id: 'cus_1042',
        set: { email: 'ada.l@example.com', status: 'suspended', phone: '+44 20 7946 0000' },
      },
      reasoning: 'suspend Ada',
    },
    {
      actionId: 'a2',
      tool: 'customers.delete',
      args: { collection: 'customers', ids: ['cus_2001', 'cus_2291'] },
      reasoning: 'remove the Does',
    },
    {
      actionId: 'a3',
      tool: 'files.write',
      args: { path: 'report.txt', content: 'report v2', overwrite: true },
      reasoning: 'rewrite the report',
    },
    {
      actionId: 'a4',
      tool: 'files.write',
      args: { path: 'out/new.txt', content: 'brand new' },
      reasoning: 'a new file',
    },
    { actionId: 'a5', tool: 'files.delete', args: { paths: ['notes/old.txt'] }, reasoning: 'old notes go' },
    {
      actionId: 'a6',
      tool: 'email.send',
      args: { to: ['ada@example.com'], subject: 'Account', body: 'Your account was suspended.' },
      reasoning: 'tell Ada',
    },
  ],
};

/** `warden rollback` against a running pipeline: compensations as a new task, guarded and executed like any. */
describe('warden rollback', () => {
  let p: Pipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    p = await startPipeline(stack());
    env = { ...testEnv('cli-rollback'), WARDEN_TOPIC_PREFIX: p.config.topicPrefix, MONGO_DB: p.config.mongoDb };
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  /** Runs a task to its end, approving (as a person would) whatever the guard pauses. */
  async function runToEnd(taskId: string): Promise<WardenEvent> {
    const approved = new Set<string>();
    for (;;) {
      const next = await p.waitFor(
        taskId,
        (e) => terminal(e) || (e.type === 'EscalationRequested' && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') return next;
      approved.add(next.data.escalationId);
      await p.approve(taskId, next.data.escalationId, 'checked');
    }
  }

  const customers = async () =>
    (await p.db.collection('customers').find().sort({ _id: 1 }).toArray()).map((d) => publicRecord(d));

  it('undoes an update, a delete and file writes row by row and file by file, reports the irreversible e-mail, and does nothing twice', async () => {
    await writeFile(join(p.workspace, 'report.txt'), 'report v1');
    await mkdir(join(p.workspace, 'notes'), { recursive: true });
    await writeFile(join(p.workspace, 'notes/old.txt'), 'old notes');
    const rowsBefore = await customers();
    const filesBefore = await filesOf(p.workspace);

    await p.submit('rb-orig', 'refund-happy', {
      goal: 'Tidy up the accounts and the report',
      input: {},
      scope: {
        tools: ['customers.update', 'customers.delete', 'files.write', 'files.delete', 'email.send'],
        resources: { collections: ['customers'], paths: ['**'], recipients: ['ada@example.com'] },
      },
      plan: steps,
    });
    const end = await runToEnd('rb-orig');
    expect(end.type, JSON.stringify(p.taskEvents('rb-orig').map((e) => [e.type, e.data]))).toBe('TaskCompleted');
    expect(await customers()).not.toEqual(rowsBefore);
    expect(await filesOf(p.workspace)).not.toEqual(filesBefore);

    // the plan, shown: newest first, the e-mail listed as irreversible
    const dry = await warden(['rollback', 'rb-orig', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as {
      rollbackTaskId: string;
      steps: { tool: string; compensates: { actionId: string } }[];
      irreversible: { actionId: string; tool: string; reason: string }[];
      submitted: string | null;
    };
    expect(plan.submitted).toBeNull();
    expect(plan.steps.map((s) => [s.compensates.actionId, s.tool])).toEqual([
      ['a5', 'files.restore'],
      ['a4', 'files.restore'],
      ['a3', 'files.restore'],
      ['a2', 'customers.restore'],
      ['a1', 'customers.revert'],
    ]);
    expect(plan.irreversible).toEqual([expect.objectContaining({ actionId: 'a6', tool: 'email.send' })]);

    const run = await warden(['rollback', 'rb-orig'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('IRREVERSIBLE step 6 email.send (a6)');
    expect(run.stdout).toContain(`rollback task ${plan.rollbackTaskId} submitted`);
    const rbEnd = await runToEnd(plan.rollbackTaskId);
    expect(rbEnd.type, JSON.stringify(p.taskEvents(plan.rollbackTaskId).map((e) => [e.type, e.data]))).toBe(
      'TaskCompleted',
    );

    // the stores are as before, row by row and file by file
    expect(await customers()).toEqual(rowsBefore);
    expect(await filesOf(p.workspace)).toEqual(filesBefore);

    // the rollback is itself audited: linked to the task, each compensation executed once, its chain intact
    const events = await p.waitForWholeChain(plan.rollbackTaskId);
    const submitted = events.find((e) => e.type === 'TaskSubmitted');
    expect(submitted?.type === 'TaskSubmitted' && submitted.data.plan?.rollbackOf).toEqual({
      taskId: 'rb-orig',
      fromStep: 0,
    });
    const succeeded = events.flatMap((e) => (e.type === 'ToolSucceeded' ? [e.data.tool] : []));
    expect(succeeded).toEqual([
      'files.restore',
      'files.restore',
      'files.restore',
      'customers.restore',
      'customers.revert',
    ]);
    const chain = verifyChain(
      p.events.messages.filter((m) => m.decoded?.event.taskId === plan.rollbackTaskId).map((m) => m.decoded!.envelope),
      plan.rollbackTaskId,
    );
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
    const verified = await warden(['verify', plan.rollbackTaskId], env);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);

    // a second rollback finds everything undone: it submits nothing, and the stores stay as they are
    const again = await warden(['rollback', 'rb-orig', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as { steps: unknown[]; compensated: unknown[]; submitted: string | null };
    expect(second.steps).toEqual([]);
    expect(second.compensated).toHaveLength(5);
    expect(second.submitted).toBeNull();
    expect(await customers()).toEqual(rowsBefore);
    expect(await filesOf(p.workspace)).toEqual(filesBefore);
  }, 300_000);

  it("rolls back from a step on through the escalation service's admin API, after a dry run, and only once", async () => {
    await p.submit('rb-api', 'refund-happy', {
      goal: 'Write two files',
      input: {},
      scope: { tools: ['files.write'], resources: { collections: [], paths: ['api/*'] } },
      plan: {
        steps: [
          { actionId: 'w1', tool: 'files.write', args: { path: 'api/one.txt', content: 'one' }, reasoning: 'one' },
          { actionId: 'w2', tool: 'files.write', args: { path: 'api/two.txt', content: 'two' }, reasoning: 'two' },
        ],
      },
    });
    expect((await runToEnd('rb-api')).type).toBe('TaskCompleted');
    const post = (body: unknown, token = p.people.token) =>
      fetch(`${p.people.url}/admin/tasks/rb-api/rollback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    type Answer = {
      plan: { steps: { tool: string; compensates: { actionId: string } }[]; compensated: unknown[] };
      submitted: string | null;
    };

    expect((await post({ fromStep: 2 }, 'not-a-token')).status).toBe(401);
    const dry = await post({ fromStep: 2, dryRun: true });
    expect(dry.status).toBe(200);
    const planned = (await dry.json()) as Answer;
    expect(planned.submitted).toBeNull();
    expect(planned.plan.steps.map((s) => s.compensates.actionId)).toEqual(['w2']);

    const res = await post({ fromStep: 2 });
    expect(res.status).toBe(200);
    const ran = (await res.json()) as Answer;
    expect(ran.submitted).toMatch(/^rb-api\.rollback-/);
    expect((await runToEnd(ran.submitted!)).type).toBe('TaskCompleted');
    await expect(readFile(join(p.workspace, 'api/one.txt'), 'utf8')).resolves.toBe('one');
    await expect(readFile(join(p.workspace, 'api/two.txt'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    const again = (await (await post({ fromStep: 2 })).json()) as Answer;
    expect(again.submitted).toBeNull();
    expect(again.plan.steps).toEqual([]);
    expect(again.plan.compensated).toHaveLength(1);
    expect(
      (
        await fetch(`${p.people.url}/admin/tasks/nope/rollback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${p.people.token}`, 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(404);
  }, 300_000);
});
