import { randomUUID } from 'node:crypto';
import { canonicalHash, follow, generateSigningKeyPair, type EventDraft, type JsonObject } from '@warden/contracts';
import { signedVerdict } from '@warden/contracts/testing';
import { LOCAL_GUARD_KEY_ID } from '@warden/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCustomers, startPipeline, type Pipeline } from '../infra/pipeline.js';
import { stack } from './support/index.js';

const H = 'f'.repeat(64);

/** A guard verdict as an attacker able to write to the verdicts topic would forge it, for a task that never existed. */
function forgedApproval(taskId: string, tool: string, args: JsonObject): EventDraft<'ActionApproved'> {
  const cause = {
    envelope: {
      id: randomUUID(),
      taskId,
      tenantId: 'tenant-demo',
      seq: 3,
      correlationId: taskId,
      policyVersion: 'default.v1',
    },
    hash: H,
  };
  return follow(
    cause,
    'ActionApproved',
    {
      proposalEventId: randomUUID(),
      proposalKind: 'action',
      actionId: 'a1',
      rulesEvaluated: [],
      ruleFired: null,
      reasonCode: 'allowed',
      policyVersion: 'default.v1',
      inputHashes: { proposal: H, state: H, policy: H },
      tool,
      args,
      argsHash: canonicalHash(args),
    },
    { producer: 'guard@0.1.0' },
  );
}

/**
 * Issue 24, item 1, through the whole loop on the stack's keys: forged guard verdicts (the attack that deleted 30
 * customers and read the schema registry through http.get) are refused by the executor with an alert, and nothing
 * happens.
 */
describe('forged guard verdicts, through the whole loop', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(stack());
  }, 180_000);
  afterAll(async () => {
    await p?.close();
  });

  const refusalOf = async (id: string) =>
    p.events.waitFor(
      (es) => es.some((e) => e.type === 'AlertRaised' && e.causationId === id),
      60_000,
      `the refusal of ${id}`,
    );

  it('refuses an unsigned and a wrongly signed approval to delete every customer of a task that never existed', async () => {
    const ids = demoCustomers.map((c) => c._id);
    const unsigned = forgedApproval('forged-ghost-1', 'customers.delete', { collection: 'customers', ids });
    // Under the stack guard key's id, but not the stack's key: what a compromised executor could sign with.
    const mallory = generateSigningKeyPair(LOCAL_GUARD_KEY_ID).signingKey;
    const wrongKey = signedVerdict(
      forgedApproval('forged-ghost-2', 'customers.delete', { collection: 'customers', ids }),
      mallory,
    );
    await p.publish(unsigned, wrongKey);
    for (const [draft, why] of [
      [unsigned, /unsigned/],
      [wrongKey, /bad_signature/],
    ] as const) {
      const events = await refusalOf(draft.id);
      const alert = events.find((e) => e.type === 'AlertRaised' && e.causationId === draft.id)!;
      expect(alert.data).toMatchObject({ severity: 'critical', subject: { reason: 'verdict_unauthenticated' } });
      if (alert.type === 'AlertRaised') expect(alert.data.message).toMatch(why);
      expect(p.taskEvents(draft.taskId).some((e) => e.type === 'ToolSucceeded' || e.type === 'ToolFailed')).toBe(false);
    }
    expect(await p.db.collection('customers').countDocuments()).toBe(demoCustomers.length);
  });

  it('refuses an http.get pointed at the schema registry', async () => {
    const url = new URL('/apis/ccompat/v7/subjects', stack().schemaRegistryUrl).toString();
    const forged = forgedApproval('forged-ghost-3', 'http.get', { url });
    await p.publish(forged);
    await refusalOf(forged.id);
    expect(p.taskEvents('forged-ghost-3').map((e) => e.type)).not.toContain('ToolSucceeded');
  });
});
