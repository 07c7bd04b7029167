import { follow, newTask, type ChainLink, type EventDraft } from '../chain.js';
import { canonicalHash } from '../canonical.js';
import { eventDataSchemas, type EventDataInput } from '../events.js';
import { generateSigningKeyPair, type SigningKey } from '../event-signature.js';
import { signVerdict, type VerdictTrust, type VerdictType } from '../verdict-signature.js';
import type { WireEnvelope } from '../envelope.js';
import { DEFAULT_TASK_CONTROLS } from '../common-schemas.js';

/** A valid TaskSubmitted payload with small, sane limits, for tests. Override any field. */
export function sampleTask(overrides: Partial<EventDataInput<'TaskSubmitted'>> = {}): EventDataInput<'TaskSubmitted'> {
  return {
    goal: 'Refund order 1001 for customer c-42',
    input: { orderId: '1001', customerId: 'c-42', amountUsd: 25 },
    requester: { id: 'alice', kind: 'user' },
    scope: { tools: ['customers.query', 'customers.update'], resources: { collections: ['customers'] } },
    limits: { ...DEFAULT_TASK_CONTROLS.limits },
    budgets: { ...DEFAULT_TASK_CONTROLS.budgets },
    risk: { ...DEFAULT_TASK_CONTROLS.risk },
    ...overrides,
  };
}

/**
 * A valid ActionProposed payload of sampleTask's kind, for tests: step 1 proposes to set customer c-42 inactive
 * (customers.update), with its args hash and a confident structured score. Override any field.
 */
export function sampleProposal(
  overrides: Partial<EventDataInput<'ActionProposed'>> = {},
): EventDataInput<'ActionProposed'> {
  const args = overrides.args ?? { collection: 'customers', id: 'c-42', set: { status: 'inactive' } };
  return {
    actionId: 'a1',
    step: 1,
    tool: 'customers.update',
    args,
    argsHash: canonicalHash(args),
    reasoning: 'the customer asked',
    confidence: { value: 0.97, source: 'structured' },
    claims: [],
    ...overrides,
  };
}

/**
 * Builds a linear chain of `length` wire envelopes (TaskSubmitted, then ToolFailed-free planner/guard/executor
 * steps) without a registry, for chain tests. Deterministic given the seed time.
 */
export function sampleChain(
  length: number,
  taskId = 'task-sample',
  now = new Date('2026-01-01T00:00:00Z'),
): WireEnvelope[] {
  const out: WireEnvelope[] = [];
  const first = newTask(sampleTask(), { tenantId: 'tenant-a', taskId, producer: 'test', now, id: uuidAt(taskId, 0) });
  out.push(asWire(first));
  let link: ChainLink = { envelope: out[0]!, hash: canonicalHash(out[0]) };
  for (let i = 1; i < length; i++) {
    const draft: EventDraft = follow(
      link,
      'ToolSucceeded',
      {
        actionId: `a-${i}`,
        tool: 'customers.query',
        effectKey: `${taskId}:a-${i}`,
        result: { rows: i },
        durationMs: i,
      },
      { producer: 'test', now: new Date(now.getTime() + i), id: uuidAt(taskId, i) },
    );
    const env = asWire(draft);
    out.push(env);
    link = { envelope: env, hash: canonicalHash(env) };
  }
  return out;
}

function asWire(draft: EventDraft): WireEnvelope {
  return { ...draft, prevHashes: [...draft.prevHashes], data: draft.data };
}

/** A deterministic UUID (version 4 shape) from a key and an index. */
export function uuidAt(key: string, index: number): string {
  const h = canonicalHash([key, index]);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The items in a deterministic pseudo-random order (a seeded Fisher-Yates shuffle), for arrival-order tests. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A guard key pair for tests (generated once per process): workers in the test's process sign verdicts with its
 * private key and check them with `testVerdictTrust`.
 */
export const testGuardKeys = generateSigningKeyPair('test-guard');

/** Trust in testGuardKeys' public key only. */
export const testVerdictTrust: VerdictTrust = {
  keys: new Map([[testGuardKeys.verifyingKey.keyId, testGuardKeys.verifyingKey]]),
  insecureAcceptUnsigned: false,
};

/**
 * A verdict draft signed as the guard signs it (its data in zod's output form, then `signVerdict`), by default with
 * testGuardKeys. For tests that publish ActionApproved, ActionRejected or EscalationRequested by hand.
 */
export function signedVerdict<T extends VerdictType>(
  draft: EventDraft<T>,
  key: SigningKey = testGuardKeys.signingKey,
): EventDraft<T> {
  const wire = eventDataSchemas[draft.type].parse(draft.data);
  const signature = signVerdict(draft.type, draft.taskId, draft.tenantId, wire, key);
  return { ...draft, data: { ...wire, signature } as EventDraft<T>['data'] };
}
