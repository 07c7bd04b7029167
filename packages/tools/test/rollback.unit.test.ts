import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemorySubjectKeyStore,
  canonicalHash,
  eventDataSchemas,
  openSealed,
  sealedTextPiece,
  sha256Hex,
  type EventType,
  type JsonValue,
  type WardenEvent,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import {
  ERASED_EFFECT_REASON,
  MemoryKeptFiles,
  ToolCallError,
  Workspace,
  bindTool,
  compensationOf,
  demoTools,
  filesDelete,
  filesRestore,
  filesWrite,
  planRollback,
  planSealedRollback,
  rollbackTask,
  type DemoToolDeps,
  type LoggedEvent,
} from '@warden/tools';
import { describe, expect, it } from 'vitest';

const signal = new AbortController().signal;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const ctx = (key: string) => ({ idempotencyKey: key, signal, logger });

describe('the demo tools declare how their effects are undone', () => {
  it('every destructive tool declares a compensation or why it has none', () => {
    for (const tool of demoTools.values()) {
      if (tool.destructive) expect(tool.compensation, tool.name).toBeDefined();
    }
    expect(demoTools.get('payments.refund')!.compensation!.kind).toBe('irreversible');
    expect(demoTools.get('email.send')!.compensation!.kind).toBe('irreversible');
  });

  it('plans each compensation from the recorded args and result', () => {
    const key = 'task-1:a1';
    expect(
      compensationOf(demoTools, 'customers.update', {
        args: { collection: 'customers', id: 'c-1', set: { name: 'B' } },
        result: { matched: 1, modified: 1 },
        effectKey: key,
      }),
    ).toEqual({
      kind: 'call',
      call: { tool: 'customers.revert', args: { collection: 'customers', id: 'c-1', reverts: key } },
    });
    expect(
      compensationOf(demoTools, 'customers.update', {
        args: { collection: 'customers', id: 'nobody', set: { name: 'B' } },
        result: { matched: 0, modified: 0 },
        effectKey: key,
      }),
    ).toEqual({ kind: 'none' });
    expect(
      compensationOf(demoTools, 'customers.delete', {
        args: { collection: 'customers', ids: ['c-1'] },
        result: { deleted: 1 },
        effectKey: key,
      }),
    ).toEqual({ kind: 'call', call: { tool: 'customers.restore', args: { collection: 'customers', deletedBy: key } } });
    expect(
      compensationOf(demoTools, 'files.write', {
        args: { path: 'a.txt', content: 'new' },
        result: { sizeBytes: 3, previousSha256: null },
        effectKey: key,
      }),
    ).toEqual({
      kind: 'call',
      call: { tool: 'files.restore', args: { files: [{ path: 'a.txt', sha256: null, ifSha256: sha256Hex('new') }] } },
    });
    // a result recorded before files.write kept copies cannot be undone: said so, not guessed
    const old = compensationOf(demoTools, 'files.write', {
      args: { path: 'a.txt', content: 'new' },
      result: { sizeBytes: 3 },
      effectKey: key,
    });
    expect(old.kind).toBe('irreversible');
    expect(
      compensationOf(demoTools, 'payments.refund', {
        args: { orderId: '1001', amountUsd: 5, reason: 'r' },
        result: { refundId: 'r-1', amountUsd: 5 },
        effectKey: key,
      }),
    ).toMatchObject({ kind: 'irreversible' });
    expect(compensationOf(demoTools, 'customers.query', { args: {}, result: [], effectKey: key })).toEqual({
      kind: 'none',
    });
  });
});

describe('files.write, files.delete and files.restore', () => {
  it('keep what they change, and files.restore puts it back once, never over later work', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rollback-files-'));
    await writeFile(join(root, 'old.txt'), 'old content');
    await writeFile(join(root, 'gone.txt'), 'gone content');
    const deps = { workspace: new Workspace(root), kept: new MemoryKeptFiles() } as unknown as DemoToolDeps;
    const write = bindTool(filesWrite, deps);
    const del = bindTool(filesDelete, deps);
    const restore = bindTool(filesRestore, deps);

    const over = await write.run({ path: 'old.txt', content: 'new content', overwrite: true }, ctx('t:w1'));
    expect(over).toEqual({ sizeBytes: 11, previousSha256: sha256Hex('old content') });
    // a re-run (a crash after the write) still reports what was there before the effect
    await expect(write.run({ path: 'old.txt', content: 'new content', overwrite: true }, ctx('t:w1'))).resolves.toEqual(
      over,
    );
    const created = await write.run({ path: 'made/new.txt', content: 'fresh' }, ctx('t:w2'));
    expect(created).toEqual({ sizeBytes: 5, previousSha256: null });
    const deleted = await del.run({ paths: ['gone.txt', 'missing.txt'] }, ctx('t:d1'));
    expect(deleted).toEqual({ deleted: 1, removed: [{ path: 'gone.txt', sha256: sha256Hex('gone content') }] });

    // the compensations, newest first
    const calls = [
      compensationOf(demoTools, 'files.delete', {
        args: { paths: ['gone.txt', 'missing.txt'] },
        result: deleted as JsonValue,
        effectKey: 't:d1',
      }),
      compensationOf(demoTools, 'files.write', {
        args: { path: 'made/new.txt', content: 'fresh' },
        result: created as JsonValue,
        effectKey: 't:w2',
      }),
      compensationOf(demoTools, 'files.write', {
        args: { path: 'old.txt', content: 'new content', overwrite: true },
        result: over as JsonValue,
        effectKey: 't:w1',
      }),
    ];
    for (const [i, c] of calls.entries()) {
      if (c.kind !== 'call') throw new Error(`expected a call, got ${c.kind}`);
      const args = c.call.args;
      await expect(restore.verify!(args, ctx(`r:u${i}`))).resolves.toEqual({ status: 'not_applied' });
      await expect(restore.run(args, ctx(`r:u${i}`))).resolves.toMatchObject({ restored: 1 });
      await expect(restore.run(args, ctx(`r:u${i}`))).resolves.toMatchObject({ restored: 1 }); // twice: no change
      await expect(restore.verify!(args, ctx(`r:u${i}`))).resolves.toMatchObject({ status: 'applied' });
    }
    await expect(readFile(join(root, 'old.txt'), 'utf8')).resolves.toBe('old content');
    await expect(readFile(join(root, 'gone.txt'), 'utf8')).resolves.toBe('gone content');
    await expect(readFile(join(root, 'made/new.txt'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    // a file changed since the effect is not restored over
    await write.run({ path: 'old.txt', content: 'v2', overwrite: true }, ctx('t:w3'));
    await writeFile(join(root, 'old.txt'), 'somebody else wrote this');
    const late = compensationOf(demoTools, 'files.write', {
      args: { path: 'old.txt', content: 'v2', overwrite: true },
      result: { sizeBytes: 2, previousSha256: sha256Hex('old content') },
      effectKey: 't:w3',
    });
    if (late.kind !== 'call') throw new Error('expected a call');
    await expect(restore.run(late.call.args, ctx('r:late'))).rejects.toBeInstanceOf(ToolCallError);
    await expect(readFile(join(root, 'old.txt'), 'utf8')).resolves.toBe('somebody else wrote this');
  });
});

let seq = 0;
function event<T extends EventType>(taskId: string, type: T, data: unknown): LoggedEvent {
  eventDataSchemas[type].parse(data); // the fixtures are real events
  return { taskId, tenantId: 'tenant-a', seq: seq++, type, data } as WardenEvent;
}

/** The log of a task that ran `effects` (tool, args, result), each proposed, approved and succeeded. */
function taskLog(taskId: string, effects: [string, Record<string, unknown>, unknown][]): LoggedEvent[] {
  seq = 0;
  const out = [event(taskId, 'TaskSubmitted', sampleTask())];
  effects.forEach(([tool, args, result], i) => {
    const actionId = `a${i + 1}`;
    const argsHash = canonicalHash(args);
    out.push(
      event(taskId, 'ActionProposed', {
        actionId,
        step: i + 1,
        tool,
        args,
        argsHash,
        reasoning: 'r',
        confidence: { value: 0.9, source: 'structured' },
        claims: [],
      }),
      event(taskId, 'ActionApproved', {
        proposalEventId: '00000000-0000-4000-8000-000000000000',
        proposalKind: 'action',
        actionId,
        rulesEvaluated: [],
        ruleFired: null,
        reasonCode: 'approved',
        policyVersion: 'p1',
        inputHashes: { proposal: argsHash, state: argsHash, policy: argsHash },
        tool,
        args,
        argsHash,
      }),
      event(taskId, 'ToolSucceeded', { actionId, tool, effectKey: `${taskId}:${actionId}`, result, durationMs: 1 }),
    );
  });
  return out;
}

describe('planRollback', () => {
  const log = taskLog('t1', [
    ['customers.query', { collection: 'customers', filter: {} }, { records: [] }],
    ['customers.update', { collection: 'customers', id: 'c-1', set: { name: 'B' } }, { matched: 1, modified: 1 }],
    ['payments.refund', { orderId: '1001', amountUsd: 5, reason: 'r' }, { refundId: 'r-1', amountUsd: 5 }],
    ['customers.delete', { collection: 'customers', ids: ['c-2'] }, { deleted: 1 }],
    ['files.write', { path: 'a.txt', content: 'x' }, { sizeBytes: 1, previousSha256: null }],
  ]);

  it('undoes the succeeded effects newest first and lists the irreversible ones', () => {
    const plan = planRollback(demoTools, log, 't1');
    expect(plan.steps.map((s) => [s.tool, s.compensates.actionId])).toEqual([
      ['files.restore', 'a5'],
      ['customers.restore', 'a4'],
      ['customers.revert', 'a2'],
    ]);
    expect(plan.irreversible).toEqual([
      expect.objectContaining({ actionId: 'a3', tool: 'payments.refund', reason: expect.stringContaining('money') }),
    ]);
    expect(plan.rollbackTaskId).toMatch(/^t1\.rollback-[0-9a-f]{16}$/);
    const task = rollbackTask(plan, { requester: { id: 'ops', kind: 'user' } });
    expect(eventDataSchemas.TaskSubmitted.safeParse(task).success).toBe(true);
    expect(task.scope.tools.sort()).toEqual(['customers.restore', 'customers.revert', 'files.restore']);
    expect(task.plan?.rollbackOf).toEqual({ taskId: 't1', fromStep: 0 });
  });

  it('from a step on: only the effects of that step and later', () => {
    const plan = planRollback(demoTools, log, 't1', 4);
    expect(plan.steps.map((s) => s.compensates.actionId)).toEqual(['a5', 'a4']);
    expect(plan.irreversible).toEqual([]);
  });

  it('does nothing twice: effects an earlier rollback undid, or is undoing, are not planned again', () => {
    const first = planRollback(demoTools, log, 't1');
    const task = rollbackTask(first, { requester: { id: 'ops', kind: 'user' } });
    const rb = first.rollbackTaskId;
    const running = [...log, event(rb, 'TaskSubmitted', task)];
    const whileRunning = planRollback(demoTools, running, 't1');
    expect(whileRunning.steps).toEqual([]);
    expect(whileRunning.inProgress.map((e) => e.actionId)).toEqual(['a5', 'a4', 'a2']);
    const step1 = first.steps[0]!;
    const partlyDone = [
      ...running,
      event(rb, 'ToolSucceeded', {
        actionId: step1.actionId,
        tool: step1.tool,
        effectKey: `${rb}:${step1.actionId}`,
        result: { restored: 1 },
        durationMs: 1,
      }),
      event(rb, 'TaskFailed', {
        reasonCode: 'given_step_failed',
        message: 'm',
        partial: { done: [], notDone: [], why: 'w' },
        totals: { steps: 2, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
      }),
    ];
    const again = planRollback(demoTools, partlyDone, 't1');
    expect(again.compensated).toEqual([expect.objectContaining({ actionId: 'a5', by: rb })]);
    expect(again.steps.map((s) => s.compensates.actionId)).toEqual(['a4', 'a2']);
    expect(again.rollbackTaskId).not.toBe(rb);
  });
});

describe('planSealedRollback (ADR 0026)', () => {
  it('plans from the opened args and results, reseals the plan, and lists an erased subject’s effect as irreversible', async () => {
    const keys = new MemorySubjectKeyStore();
    const ada = 'tenant-a:cus_1';
    const bob = 'tenant-a:cus_2';
    const content = `Dear ${await sealedTextPiece(keys, ada, 'Ada Lovelace')}, hello.`;
    const path = `letters/${await sealedTextPiece(keys, ada, 'ada@example.com')}.txt`;
    const bobName = await sealedTextPiece(keys, bob, 'Bob Smith');
    const log = taskLog('t2', [
      ['files.write', { path, content }, { sizeBytes: 1, previousSha256: null }],
      [
        'customers.update',
        { collection: 'customers', id: 'cus_2', set: { name: bobName } },
        { matched: 1, modified: 1 },
      ],
    ]);
    const plan = await planSealedRollback(demoTools, log, 't2', 0, keys);
    const restore = plan.steps.find((s) => s.tool === 'files.restore')!;
    // planned from what the effect wrote (its clear content's hash), not from the sealed text
    const clearContent = 'Dear Ada Lovelace, hello.';
    expect(restore.args).toMatchObject({ files: [{ sha256: null, ifSha256: sha256Hex(clearContent) }] });
    // the plan the rollback task publishes holds no clear personal data, and opens to the path written
    expect(JSON.stringify(plan.steps)).not.toContain('ada@example.com');
    expect(await openSealed(keys, restore.args)).toMatchObject({ files: [{ path: 'letters/ada@example.com.txt' }] });
    expect(plan.steps.map((s) => s.tool).sort()).toEqual(['customers.revert', 'files.restore']);

    // Bob is erased: his update is reported, not planned from [erased]; the rest is planned as before
    await keys.erase(bob);
    const after = await planSealedRollback(demoTools, log, 't2', 0, keys);
    expect(after.steps.map((s) => s.tool)).toEqual(['files.restore']);
    expect(after.irreversible).toEqual([
      expect.objectContaining({ actionId: 'a2', tool: 'customers.update', reason: ERASED_EFFECT_REASON }),
    ]);
  });
});
