import {
  ERASED_VALUE,
  MongoSubjectKeyStore,
  SEALED_FIELD,
  sealValue,
  subjectErasedDraft,
  verifyChain,
  type WireEnvelope,
} from '@warden/contracts';
import { testWorkerConfig, waitUntil } from '@warden/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { stack } from '../../../test/support/index.js';
import { createAuditor, type TaskDoc } from '../src/index.js';
import { KEY_A, auditorTestConfig, encodeChain, fullTaskSteps, startWire, type Step } from './support.js';

/** A key of tenant-a with the personal-data role (ADR 0026). */
const PD_KEY_A = 'tenant-a-personal-data-key-0123456789';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type Row = { id: string; email: unknown };
type Timeline = { events: Array<{ type: string; data: { result?: { rows: Row[] } } }> };

describe('auditor API and sealed personal data (ADR 0026)', () => {
  it('opens sealed values for the personal-data role only, and shows them [erased] to everyone once erased', async () => {
    const runtime = testWorkerConfig(stack());
    const config = auditorTestConfig(runtime, { personalDataKeys: [{ tenantId: 'tenant-a', key: PD_KEY_A }] });
    const wire = await startWire(runtime);
    cleanups.push(() => wire.close());
    const auditor = createAuditor({ config });
    cleanups.push(() => auditor.close());
    await auditor.start();
    const addr = auditor.apiAddress()!;
    const json = async <T>(path: string, key: string): Promise<T> => {
      const res = await fetch(`http://${addr.host}:${addr.port}${path}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    };

    const keys = new MongoSubjectKeyStore(wire.deps.db);
    const subject = `tenant-a:cus_${Date.now()}`;
    const sealed = await sealValue(keys, subject, 'ada@example.com');
    const steps: Step[] = fullTaskSteps().map((s): Step =>
      s[0] === 'ToolSucceeded' ? ['ToolSucceeded', { ...s[1], result: { rows: [{ id: 'cus_1', email: sealed }] } }] : s,
    );
    const taskId = `task-sealed-${Date.now()}`;
    const chain = await encodeChain(wire.deps.codec, taskId, 'tenant-a', steps);
    await wire.send(chain);
    await waitUntil(
      async () => {
        const t: TaskDoc | null = await auditor.store().tasks.findOne({ _id: taskId });
        return t !== null && t.eventCount === 8 && t.chain.status === 'ok' ? t : undefined;
      },
      { timeoutMs: 30_000, what: 'the task projected' },
    );
    const emailOf = async (key: string): Promise<unknown> => {
      const timeline = await json<Timeline>(`/v1/tasks/${taskId}/timeline`, key);
      return timeline.events.find((e) => e.type === 'ToolSucceeded')!.data.result!.rows[0]!.email;
    };

    // the projection stores what the log holds: ciphertext, never the clear value
    const stored = await auditor.store().events.find({ taskId }).toArray();
    expect(stored.some((d) => d.wire.includes(SEALED_FIELD))).toBe(true);
    expect(stored.some((d) => d.wire.includes('ada@example.com'))).toBe(false);
    // a reader without the role sees whose value it is, never what; the role opens it
    expect(await emailOf(KEY_A)).toBe(`[sealed: ${subject}]`);
    expect(await emailOf(PD_KEY_A)).toBe('ada@example.com');

    // `warden erase` in short: the key deleted, then SubjectErased on the alerts topic
    expect(await keys.erase(subject)).toBe(1);
    const erased = await wire.deps.codec.encode(
      subjectErasedDraft(
        { subject, keysDeleted: 1, erasedBy: { id: 'test', kind: 'user' }, reason: 'test' },
        { tenantId: 'tenant-a', producer: 'test' },
      ),
    );
    await wire.send([erased]);
    // the auditor's cached key goes with the SubjectErased event (not a TTL later)
    await waitUntil(async () => ((await emailOf(PD_KEY_A)) === ERASED_VALUE ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the erasure to hold for the personal-data role',
    });
    expect(await emailOf(KEY_A)).toBe(ERASED_VALUE);

    // the chain, over the ciphertext, still verifies
    expect(await json(`/v1/tasks/${taskId}/verify`, KEY_A)).toMatchObject({ status: 'complete', problems: [] });
    const exported = await fetch(`http://${addr.host}:${addr.port}/v1/tasks/${taskId}/export`, {
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    const envelopes = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WireEnvelope);
    expect(verifyChain(envelopes, taskId).ok).toBe(true);
  }, 120_000);
});
