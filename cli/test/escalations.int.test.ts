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
