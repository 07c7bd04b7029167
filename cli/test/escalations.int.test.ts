import { terminalEventTypes, type WardenEvent } from '@warden/contracts';
import { waitUntil } from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../../infra/pipeline.js';
import { stack } from '../../test/support/index.js';
import { testEnv, warden } from './support/run.js';

const terminal = (e: WardenEvent): boolean => terminalEventTypes.has(e.type);

/** `warden escalations` against the real escalation service of a running pipeline. */
describe('warden escalations', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(stack());
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  it('lists, shows and approves what the guard paused, through the people API, until the task completes', async () => {
    const env = { ...testEnv('cli-esc'), ESCALATION_URL: p.people.url, ESCALATION_TOKEN: p.people.token };
    await p.submit('cli-esc-1', 'low-confidence-delete', {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    });
    const decided = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        'cli-esc-1',
        (e) => terminal(e) || (e.type === 'EscalationRequested' && !decided.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') {
        end = next;
        break;
      }
      const id = next.data.escalationId;
      decided.add(id);
      // The service projects the escalation from the log: wait until it lists it.
      let listed = await warden(['escalations', 'list', '--status', 'pending', '--json'], env);
      await waitUntil(
        async () =>
          (listed = await warden(['escalations', 'list', '--status', 'pending', '--json'], env)).stdout.includes(id),
        { what: `escalation ${id} listed` },
      );
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ escalationId: string }>).map((e) => e.escalationId)).toContain(id);
      const shown = await warden(['escalations', 'show', 'cli-esc-1', id], env);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(`why: ${next.data.reason.slice(0, 40)}`);
      const approved = await warden(['escalations', 'approve', 'cli-esc-1', id, '--comment', 'checked by hand'], env);
      expect(approved.code, approved.stderr).toBe(0);
      expect(approved.stdout).toMatch(/^approved: cli-esc-1 /);
      // A second decision of the same escalation is refused: one outcome per escalation.
      const again = await warden(['escalations', 'deny', 'cli-esc-1', id], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already_decided|409/);
    }
    expect(end.type, JSON.stringify(p.taskEvents('cli-esc-1').map((e) => e.type))).toBe('TaskCompleted');
    const decisions = p.taskEvents('cli-esc-1').filter((e) => e.type === 'HumanApproved');
    expect(decisions.length).toBe(decided.size);
  });

  it('shows a halted task with its budget, and resumes it as an admin with more tokens until it completes', async () => {
    const env = { ...testEnv('cli-esc-3'), ESCALATION_URL: p.people.url, ESCALATION_TOKEN: p.people.token };
    await p.submit('cli-esc-halt', 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
      budgets: { maxTokens: 6_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    const halted = await p.waitFor('cli-esc-halt', terminal);
    if (halted.type !== 'TaskHalted') throw new Error(`expected a halt, got ${halted.type}`);
    const id = halted.data.escalationId!;
    let shown = await warden(['escalations', 'show', 'cli-esc-halt', id], env);
    await waitUntil(
      async () => (shown = await warden(['escalations', 'show', 'cli-esc-halt', id], env)).stdout.includes('halted'),
      { what: 'the halt shown' },
    );
    expect(shown.stdout).toContain('halted: budget_exhausted');
    expect(shown.stdout).toMatch(/budget: tokens \d+\/6000 \(\d+ left\)/);
    expect(shown.stdout).toContain('open breakers: none');
    const bad = await warden(['escalations', 'resume', 'cli-esc-halt', id, '--grant-tokens', 'many'], env);
    expect(bad.code).toBe(2);
    const resumed = await warden(
      ['escalations', 'resume', 'cli-esc-halt', id, '--grant-tokens', '200000', '--comment', 'finish it'],
      env,
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed: cli-esc-halt /);
    const again = await warden(['escalations', 'cancel', 'cli-esc-halt', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already_decided/);
    const approved = new Set<string>();
    let end: WardenEvent | undefined;
    while (end === undefined) {
      const next = await p.waitFor(
        'cli-esc-halt',
        (e) =>
          (terminal(e) && e.seq > halted.seq) ||
          (e.type === 'EscalationRequested' && e.seq > halted.seq && !approved.has(e.data.escalationId)),
      );
      if (next.type !== 'EscalationRequested') end = next;
      else {
        approved.add(next.data.escalationId);
        await p.approve('cli-esc-halt', next.data.escalationId);
      }
    }
    expect(end.type).toBe('TaskCompleted');
    expect(p.taskEvents('cli-esc-halt').find((e) => e.type === 'TaskResumed')?.data).toMatchObject({
      grant: { tokens: 200_000 },
      comment: 'finish it',
      decidedBy: { role: 'admin' },
    });
  });

  it('says what to do without a token, and when the service does not answer', async () => {
    const base = testEnv('cli-esc-2');
    const noToken = await warden(['escalations', 'list'], { ...base, ESCALATION_URL: p.people.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('set ESCALATION_TOKEN');
    const wrongToken = await warden(['escalations', 'list'], {
      ...base,
      ESCALATION_URL: p.people.url,
      ESCALATION_TOKEN: 'not-a-token',
    });
    expect(wrongToken.code).toBe(2);
    expect(wrongToken.stderr).toMatch(/refused \(401/);
    const down = await warden(['escalations', 'list'], {
      ...base,
      ESCALATION_URL: 'http://127.0.0.1:1',
      ESCALATION_TOKEN: 'x',
    });
    expect(down.code).toBe(3);
  });
});
