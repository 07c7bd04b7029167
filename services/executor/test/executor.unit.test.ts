import { canonicalHash, generateSigningKeyPair, signDecision, type HeldEscalation } from '@warden/contracts';
import { createRunnableToolRegistry, defineRunnableTool, defineTool, type RunnableTool } from '@warden/tools';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  callTool,
  checkApproval,
  executeApproval,
  InvalidToolOutputError,
  ToolBreakers,
  ToolRefusedError,
  ToolTimeoutError,
  type Approval,
  type BreakerSettings,
  type SharedBreakerState,
} from '../src/index.js';

const logger = pino({ level: 'silent' });
const settings: BreakerSettings = {
  errorThresholdPercent: 50,
  rollingWindowMs: 60_000,
  rollingBuckets: 10,
  volumeThreshold: 5,
  consecutiveFailures: 3,
  resetTimeoutMs: 200,
};
const ok = () => Promise.resolve('ok');
const boom = () => Promise.reject(new Error('boom'));

function echoTool(run: RunnableTool['run'], timeoutMs?: number): RunnableTool {
  return defineRunnableTool({
    spec: defineTool({
      name: 'test.echo',
      description: 'echo',
      destructive: false,
      argsSchema: z.object({ n: z.number() }).strict(),
      outputSchema: z.object({ n: z.number() }),
      riskTier: 'low',
      resources: {},
      criticalFields: [],
    }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    run: run as (args: { n: number }, ctx: Parameters<RunnableTool['run']>[1]) => Promise<{ n: number }>,
  });
}

describe('tool breakers', () => {
  it('open after consecutive failures and publish the change', async () => {
    const shared: SharedBreakerState[] = [];
    const b = new ToolBreakers(settings, 'r1', logger, { publish: async (s) => void shared.push(s) });
    expect((await b.fire('t', boom)).ok).toBe(false);
    expect((await b.fire('t', boom)).ok).toBe(false);
    const third = await b.fire('t', boom);
    expect(third.transition).toMatchObject({ kind: 'opened', consecutiveFailures: 3 });
    expect(b.state('t')).toBe('open');
    const rejected = await b.fire('t', ok);
    expect(rejected).toMatchObject({ ok: false, rejected: true });
    expect(shared).toMatchObject([{ tool: 't', state: 'open', replicaId: 'r1' }]);
    b.shutdown();
  });

  it('a success ends a run of failures but not the evidence of the window: a flapping tool opens on its rate', async () => {
    const b = new ToolBreakers(settings, 'r1', logger);
    const pattern = [boom, boom, ok, boom, boom, ok, boom]; // never 3 in a row; 5 of 7 failed
    const results = [];
    for (const call of pattern) results.push(await b.fire('flappy', call));
    expect(b.state('flappy')).toBe('open');
    expect(results.find((r) => r.transition?.kind === 'opened')?.transition).toMatchObject({ kind: 'opened' });
    b.shutdown();
  });

  it('lets one half-open probe through after the reset timeout; its success closes the breaker', async () => {
    const b = new ToolBreakers({ ...settings, resetTimeoutMs: 100 }, 'r1', logger);
    for (let i = 0; i < 3; i++) await b.fire('t', boom);
    expect(b.allows('t')).toBe(false);
    await expect.poll(() => b.state('t'), { timeout: 10_000 }).toBe('halfOpen');
    expect(b.allows('t')).toBe(true);
    const probe = await b.fire('t', ok);
    expect(probe.transition).toMatchObject({ kind: 'closed' });
    expect(b.state('t')).toBe('closed');
    b.shutdown();
  });

  it('a failed probe opens it again', async () => {
    const b = new ToolBreakers({ ...settings, resetTimeoutMs: 100 }, 'r1', logger);
    for (let i = 0; i < 3; i++) await b.fire('t', boom);
    await expect.poll(() => b.state('t'), { timeout: 10_000 }).toBe('halfOpen');
    await b.fire('t', boom);
    expect(b.state('t')).toBe('open');
    b.shutdown();
  });

  it('follows a peer: open and close from another replica, and ignores its own echo', async () => {
    const b = new ToolBreakers(settings, 'r1', logger);
    const at = new Date().toISOString();
    b.applyRemote({ tool: 't', state: 'open', replicaId: 'r1', at, reason: 'mine' });
    expect(b.state('t')).toBe('closed');
    b.applyRemote({ tool: 't', state: 'open', replicaId: 'r2', at, reason: 'peer' });
    expect(b.state('t')).toBe('open');
    b.applyRemote({ tool: 't', state: 'closed', replicaId: 'r2', at, reason: 'peer' });
    expect(b.state('t')).toBe('closed');
    b.shutdown();
  });

  it('does not count refusals against the tool', async () => {
    const b = new ToolBreakers(settings, 'r1', logger);
    for (let i = 0; i < 5; i++) await b.fire('t', () => Promise.reject(new ToolRefusedError('no')));
    expect(b.state('t')).toBe('closed');
    b.shutdown();
  });
});

describe('approval checks', () => {
  const tools = createRunnableToolRegistry([echoTool(() => Promise.resolve({ n: 1 }))]);
  const args = { n: 1 };
  const base: Approval = {
    kind: 'ActionApproved',
    eventId: 'e1',
    taskId: 't1',
    tenantId: 'tenant-a',
    actionId: 'a1',
    tool: 'test.echo',
    args,
    argsHash: canonicalHash(args),
    policyVersion: 'v1',
  };
  const now = new Date('2030-01-01T00:00:00Z');
  const noKeys = { keys: new Map(), insecureAcceptUnsigned: false };

  it('runs an approval whose args hash to its argsHash', () => {
    expect(checkApproval(base, tools, now, noKeys)).toMatchObject({ ok: true });
  });
  it('refuses args that do not match the approved hash', () => {
    expect(checkApproval({ ...base, args: { n: 2 } }, tools, now, noKeys)).toMatchObject({
      ok: false,
      code: 'args_hash_mismatch',
    });
  });
  it('refuses an unknown tool and args outside the schema', () => {
    expect(checkApproval({ ...base, tool: 'nope' }, tools, now, noKeys)).toMatchObject({
      ok: false,
      code: 'unknown_tool',
    });
    const bad = { n: 'x' };
    expect(checkApproval({ ...base, args: bad, argsHash: canonicalHash(bad) }, tools, now, noKeys)).toMatchObject({
      ok: false,
      code: 'invalid_args',
    });
  });

  describe("a person's approval", () => {
    const pair = generateSigningKeyPair('esc-1');
    const trust = { keys: new Map([['esc-1', pair.verifyingKey]]), insecureAcceptUnsigned: false };
    const data = {
      escalationId: 't1:a1:guard',
      actionId: 'a1',
      decidedBy: { id: 'ops-ana', kind: 'user' as const, role: 'approver' },
      argsHash: canonicalHash(args),
      policyVersion: 'v1',
      expiresAt: '2030-06-01T00:00:00.000Z',
      tool: 'test.echo',
      args,
    };
    const held: HeldEscalation = {
      escalationId: 't1:a1:guard',
      taskId: 't1',
      actionId: 'a1',
      argsHash: canonicalHash(args),
      policyVersion: 'v1',
      expiresAt: '2030-06-01T00:00:00.000Z',
    };
    type Data = typeof data & { signature?: ReturnType<typeof signDecision> };
    const sign = (d: Data, tenantId = 'tenant-a'): Data => ({
      ...d,
      signature: signDecision('HumanApproved', 't1', tenantId, d, pair.signingKey),
    });
    const human = (d: Data): Approval => ({
      ...base,
      kind: 'HumanApproved',
      args: d.args,
      argsHash: d.argsHash,
      expiresAt: d.expiresAt,
      decision: { tenantId: 'tenant-a', data: d },
    });
    const code = (d: Data, at = now, h: HeldEscalation | undefined = held, t = trust): string => {
      const check = checkApproval(human(d), tools, at, t, h);
      return check.ok ? 'ok' : check.code;
    };

    it('runs when signed by a trusted key and bound to exactly the escalation held', () => {
      expect(code(sign(data))).toBe('ok');
    });

    it('is refused unsigned, signed for another tenant, or by an unknown key', () => {
      expect(code(data)).toBe('approval_unauthenticated');
      expect(code(sign(data, 'tenant-b'))).toBe('approval_unauthenticated');
      const other = generateSigningKeyPair('esc-1');
      expect(
        code({ ...data, signature: signDecision('HumanApproved', 't1', 'tenant-a', data, other.signingKey) }),
      ).toBe('approval_unauthenticated');
    });

    it('fails closed without keys; the insecure development setting accepts it unsigned', () => {
      expect(code(sign(data), now, held, noKeys)).toBe('approval_unauthenticated');
      expect(code(data, now, held, { ...noKeys, insecureAcceptUnsigned: true })).toBe('ok');
      // the guard's own approvals are not a person's decisions
      expect(checkApproval(base, tools, now, noKeys)).toMatchObject({ ok: true });
    });

    it('is refused for another escalation, other args, a stale policy, or after its expiry', () => {
      const noHeld = checkApproval(human(sign(data)), tools, now, trust);
      expect(noHeld).toMatchObject({ ok: false, code: 'escalation_unknown' });
      expect(code(sign({ ...data, escalationId: 't1:a1:executor:breaker_open' }))).toBe('escalation_unknown');
      const other = { n: 2 };
      expect(code(sign({ ...data, args: other, argsHash: canonicalHash(other) }))).toBe('args_mismatch');
      expect(code(sign({ ...data, policyVersion: 'v0' }))).toBe('policy_mismatch');
      expect(code(sign({ ...data, actionId: 'a2' }))).toBe('action_mismatch');
      expect(code(sign(data), new Date('2030-06-01T00:00:00.000Z'))).toBe('decision_expired');
      // args changed after signing: the signature no longer holds
      expect(code({ ...sign(data), args: other })).toBe('approval_unauthenticated');
    });
  });

  it('runs nothing for an approved answer, by the guard or by a person (tool null)', async () => {
    // deps and ctx that throw when touched: an approved answer must not reach the ledger, a tool or a publish
    const untouchable = new Proxy(
      {},
      {
        get: (_t, key) => {
          throw new Error(`touched ${String(key)}`);
        },
      },
    );
    for (const kind of ['ActionApproved', 'HumanApproved'] as const) {
      await expect(
        executeApproval(
          untouchable as never,
          { ...base, kind, tool: null, args: {} },
          untouchable as never,
          untouchable as never,
        ),
      ).resolves.toBeUndefined();
    }
    await expect(
      executeApproval(untouchable as never, base, untouchable as never, untouchable as never),
    ).rejects.toThrow(/touched/);
  });
});

describe('a tool call', () => {
  const signal = new AbortController().signal;
  it('is cancelled at its timeout through its signal', async () => {
    let sawAbort = false;
    const tool = echoTool(
      (_args, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted'));
          });
        }),
    );
    const started = Date.now();
    await expect(
      callTool(tool, { n: 1 }, { idempotencyKey: 'k', timeoutMs: 100, logger, signal }),
    ).rejects.toBeInstanceOf(ToolTimeoutError);
    expect(sawAbort).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
  it('gives up at the timeout even when the tool ignores its signal', async () => {
    const tool = echoTool(() => new Promise(() => {}));
    await expect(
      callTool(tool, { n: 1 }, { idempotencyKey: 'k', timeoutMs: 50, logger, signal }),
    ).rejects.toBeInstanceOf(ToolTimeoutError);
  });
  it('fails on an output that does not match the output schema', async () => {
    const tool = echoTool(() => Promise.resolve({ n: 'not a number' }));
    await expect(
      callTool(tool, { n: 1 }, { idempotencyKey: 'k', timeoutMs: 1_000, logger, signal }),
    ).rejects.toBeInstanceOf(InvalidToolOutputError);
  });
});
