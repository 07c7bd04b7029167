import { describe, expect, it } from 'vitest';
import {
  authenticateVerdict,
  eventDataSchemas,
  generateSigningKeyPair,
  parseProducerKeys,
  producerBreak,
  producerEventTypes,
  producerSignatureOf,
  signVerdict,
  verifyProducer,
  verifyVerdict,
  type EventData,
} from '../src/index.js';

const H = 'a'.repeat(64);
const guard = generateSigningKeyPair('guard-1');
const keys = new Map([[guard.verifyingKey.keyId, guard.verifyingKey]]);
const verdict: EventData<'ActionApproved'> = eventDataSchemas.ActionApproved.parse({
  proposalEventId: '6f1c1f2e-6f0a-4d7e-9a59-3f3c1b8f0a11',
  proposalKind: 'action',
  actionId: 'a1',
  rulesEvaluated: [],
  ruleFired: null,
  reasonCode: 'allowed',
  policyVersion: 'default.v1',
  inputHashes: { proposal: H, state: H, policy: H },
  tool: 'customers.delete',
  args: { collection: 'customers', ids: ['c-1'] },
  argsHash: H,
  impact: { rows: 1 },
});
const signed = { ...verdict, signature: signVerdict('ActionApproved', 't1', 'tenant-a', verdict, guard.signingKey) };

describe("the guard's verdict signatures (ADR 0018)", () => {
  it('accept a verdict signed by a trusted guard key, for its own task and tenant', () => {
    expect(verifyVerdict('ActionApproved', 't1', 'tenant-a', signed, keys)).toEqual({ ok: true, keyId: 'guard-1' });
  });

  it.each([
    ['another task', () => verifyVerdict('ActionApproved', 't2', 'tenant-a', signed, keys)],
    ['another tenant', () => verifyVerdict('ActionApproved', 't1', 'tenant-b', signed, keys)],
    ['another verdict type', () => verifyVerdict('ActionRejected', 't1', 'tenant-a', signed as never, keys)],
    ['other args', () => verifyVerdict('ActionApproved', 't1', 'tenant-a', { ...signed, args: { ids: [] } }, keys)],
    ['another tool', () => verifyVerdict('ActionApproved', 't1', 'tenant-a', { ...signed, tool: 'x.y' }, keys)],
    [
      'another args hash',
      () => verifyVerdict('ActionApproved', 't1', 'tenant-a', { ...signed, argsHash: 'b'.repeat(64) }, keys),
    ],
    [
      'another policy',
      () => verifyVerdict('ActionApproved', 't1', 'tenant-a', { ...signed, policyVersion: 'v0' }, keys),
    ],
  ])('refuse it replayed onto %s', (_what, check) => {
    expect(check()).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('fail closed: unsigned, an unknown key, no keys at all; only the insecure setting lets them through', () => {
    const trust = { keys, insecureAcceptUnsigned: false };
    expect(authenticateVerdict('ActionApproved', 't1', 'tenant-a', verdict, trust)).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    const other = generateSigningKeyPair('guard-1'); // the trusted id, another key
    const forged = {
      ...verdict,
      signature: signVerdict('ActionApproved', 't1', 'tenant-a', verdict, other.signingKey),
    };
    expect(authenticateVerdict('ActionApproved', 't1', 'tenant-a', forged, trust)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const stranger = generateSigningKeyPair('guard-9');
    const unknown = {
      ...verdict,
      signature: signVerdict('ActionApproved', 't1', 'tenant-a', verdict, stranger.signingKey),
    };
    expect(authenticateVerdict('ActionApproved', 't1', 'tenant-a', unknown, trust)).toEqual({
      ok: false,
      reason: 'unknown_key',
    });
    const none = { keys: new Map(), insecureAcceptUnsigned: false };
    expect(authenticateVerdict('ActionApproved', 't1', 'tenant-a', signed, none)).toEqual({
      ok: false,
      reason: 'no_keys',
    });
    const insecure = { keys: new Map(), insecureAcceptUnsigned: true };
    expect(authenticateVerdict('ActionApproved', 't1', 'tenant-a', verdict, insecure)).toEqual({
      ok: true,
      keyId: null,
    });
  });
});

describe('producer signatures (ADR 0018)', () => {
  const planner = generateSigningKeyPair('planner-1');
  const executor = generateSigningKeyPair('executor-1');
  const producers = parseProducerKeys(`planner=${planner.verifyingKeyText}, executor=${executor.verifyingKeyText}`);

  it('accept an event its producer signed, if the role may produce its type', () => {
    const header = producerSignatureOf(H, planner.signingKey);
    expect(verifyProducer('ActionProposed', H, header, producers)).toEqual({
      ok: true,
      role: 'planner',
      keyId: 'planner-1',
    });
    expect(verifyProducer('ToolSucceeded', H, header, producers)).toMatchObject({
      ok: false,
      reason: 'type_not_allowed',
    });
  });

  it('name an unsigned, unknown-key or rewritten event as an unverified_producer break', () => {
    expect(verifyProducer('ToolSucceeded', H, undefined, producers)).toMatchObject({ reason: 'unsigned' });
    const stranger = producerSignatureOf(H, generateSigningKeyPair('mallory').signingKey);
    expect(verifyProducer('ToolSucceeded', H, stranger, producers)).toMatchObject({ reason: 'unknown_key' });
    const original = producerSignatureOf(H, executor.signingKey);
    expect(verifyProducer('ToolSucceeded', 'b'.repeat(64), original, producers)).toMatchObject({
      reason: 'bad_signature',
    });
    expect(
      producerBreak({ id: 'e1', seq: 4, type: 'ToolSucceeded' }, 'b'.repeat(64), original, producers),
    ).toMatchObject({
      kind: 'unverified_producer',
      eventId: 'e1',
      seq: 4,
    });
    expect(producerBreak({ id: 'e1', seq: 4, type: 'ToolSucceeded' }, H, original, producers)).toBeUndefined();
  });

  it('let only the guard approve, only people decide and only submitters submit', () => {
    const may = (type: string) =>
      Object.entries(producerEventTypes)
        .filter(([, types]) => (types as ReadonlySet<string>).has(type))
        .map(([role]) => role);
    expect(may('ActionApproved')).toEqual(['guard']);
    expect(may('HumanApproved')).toEqual(['escalation']);
    expect(may('TaskSubmitted')).toEqual(['submitter']);
    expect(may('ToolSucceeded')).toEqual(['executor']);
  });

  it('refuse malformed key lists, naming the entry', () => {
    expect(() => parseProducerKeys(`king=${planner.verifyingKeyText}`)).toThrow(/entry 1: expected role=/);
    expect(() => parseProducerKeys('planner=p1:bm90IGEga2V5')).toThrow(/producer key p1: not an SPKI/);
    expect(() => parseProducerKeys(`planner=${planner.verifyingKeyText},guard=${planner.verifyingKeyText}`)).toThrow(
      /given twice/,
    );
  });
});
