import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { canonicalHash } from '@warden/contracts';
import { decide, loadPolicy, type GuardState } from '../src/index.js';
import { createToolRegistry, customersQuery, defineTool, demoTools } from '@warden/tools';
import { act, baseState, defaultPolicy, defaultPolicyDocument, impact, policyWith } from './helpers.js';

/** Rebuilds a value with every object's keys in reverse order. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    ) as T;
  }
  return value;
}

const state = baseState({ impact: impact({ rows: 2 }) });
const proposal = act(
  'customers.delete',
  { collection: 'crm_customers', ids: ['C-1001', 'C-1002'] },
  {
    claims: [{ text: 'C-1001 is inactive', evidence: [{ kind: 'tool_result', ref: 'a1' }] }],
  },
);

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('decide() is deterministic', () => {
  it('gives the same verdict and hashes for the same inputs, call after call', () => {
    const first = decide(state, proposal, defaultPolicy);
    decide(baseState(), act('files.read', { path: '/etc/passwd' }), defaultPolicy); // unrelated call in between
    const again = decide(state, proposal, defaultPolicy);
    expect(again).toEqual(first);
    expect(first.outcome).toBe('allow');
    expect(first.inputHashes.proposal).toBe(canonicalHash(proposal));
    expect(first.inputHashes.state).toBe(canonicalHash(state));
    expect(first.inputHashes.policy).toBe(defaultPolicy.hash);
  });

  it('does not depend on key order in the state, the proposal or the policy file', () => {
    const reordered = decide(
      reverseKeys(state),
      reverseKeys(proposal),
      loadPolicy(reverseKeys(defaultPolicyDocument())),
    );
    expect(reordered).toEqual(decide(state, proposal, defaultPolicy));
  });

  it('reads no clock and no randomness', () => {
    const RealDate = Date;
    class NoClock extends RealDate {
      constructor(...args: []) {
        super(...args);
        throw new Error('decide() read the clock');
      }
      static override now(): number {
        throw new Error('decide() read the clock');
      }
    }
    vi.stubGlobal('Date', NoClock);
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('decide() used randomness');
    });
    vi.spyOn(performance, 'now').mockImplementation(() => {
      throw new Error('decide() read the clock');
    });
    expect(() => decide(state, proposal, defaultPolicy)).not.toThrow();
    expect(() => decide(baseState(), act('http.get', { url: 'https://evil.com/' }), defaultPolicy)).not.toThrow();
  });

  it('hashes change with each input', () => {
    const base = decide(state, proposal, defaultPolicy).inputHashes;
    const moreApproved: GuardState = { ...state, approvedImpact: impact({ rows: 1 }) };
    expect(decide(moreApproved, proposal, defaultPolicy).inputHashes.state).not.toBe(base.state);
    const otherClaims = { ...proposal, claims: [] };
    expect(decide(state, otherClaims, defaultPolicy).inputHashes.proposal).not.toBe(base.proposal);
    const otherRule = policyWith((doc) => {
      (doc.rules as { mode: string }[])[0]!.mode = 'warn';
    });
    expect(decide(state, proposal, otherRule).inputHashes.policy).not.toBe(base.policy);
  });

  it("the policy hash covers the tools' argument schemas, not only the file", () => {
    const looser = defineTool({
      ...customersQuery,
      argsSchema: z.object({ collection: z.string(), filter: z.record(z.string(), z.unknown()) }),
    });
    const tools = createToolRegistry([...[...demoTools.values()].filter((t) => t.name !== 'customers.query'), looser]);
    expect(loadPolicy(defaultPolicyDocument(), { tools }).hash).not.toBe(defaultPolicy.hash);
    expect(loadPolicy(defaultPolicyDocument()).hash).toBe(defaultPolicy.hash);
  });
});
