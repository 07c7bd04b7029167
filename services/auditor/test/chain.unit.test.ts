import { canonicalHash, verifyChain, type WireEnvelope } from '@warden/contracts';
import { sampleChain, shuffled } from '@warden/contracts/testing';
import { describe, expect, it } from 'vitest';
import { TaskChain, auditTask, signCheckpoint } from '../src/index.js';

const TASK = 'task-sample';

/** Feeds envelopes to a TaskChain in the given order; returns every break it reported. */
function track(envs: readonly WireEnvelope[], settle = true) {
  const chain = new TaskChain(TASK);
  const live = envs.flatMap((e) => chain.add(e, canonicalHash(e)));
  const settled = settle ? chain.settle() : [];
  return { chain, live, settled, state: chain.state() };
}

describe('TaskChain: incremental verification', () => {
  it('accepts an intact chain in any arrival order, with the same head as verifyChain', () => {
    const chain = sampleChain(12);
    const full = verifyChain(chain);
    for (const seed of [1, 2, 3, 4, 5]) {
      const { state, live, settled } = track(shuffled(chain, seed));
      expect(live).toEqual([]);
      expect(settled).toEqual([]);
      expect(state.status).toBe('ok');
      expect(full.ok && state.head).toEqual(full.ok ? full.head : null);
      expect(state.count).toBe(12);
    }
  });

  it('treats exact duplicates (a redelivery) as nothing', () => {
    const chain = sampleChain(5);
    expect(track([...chain, ...chain, chain[2]!]).state).toMatchObject({ status: 'ok', count: 5 });
  });

  it('names an altered event as soon as its successor is read, in either order', () => {
    const chain = sampleChain(8);
    const altered = { ...chain[3]!, data: { ...(chain[3]!.data as object), result: { rows: 999 } } };
    const tampered = [...chain.slice(0, 3), altered, ...chain.slice(4)];
    const expected = verifyChain(tampered);
    expect(expected.ok).toBe(false);
    for (const order of [tampered, [...tampered].reverse()]) {
      const { live, state } = track(order, false);
      expect(live[0]).toMatchObject({ kind: 'altered', eventId: chain[3]!.id, seq: 3 });
      expect(state.status).toBe('broken');
      if (!expected.ok) expect(state.breaks[0]).toEqual(expected.firstBreak);
    }
  });

  it('keeps a dropped event pending while its cause may still arrive, then names it missing on settle', () => {
    const chain = sampleChain(8);
    const dropped = [...chain.slice(0, 5), ...chain.slice(6)];
    const { live, state: before, chain: tracker } = track(dropped, false);
    expect(live).toEqual([]);
    expect(before.status).toBe('pending');
    const settled = tracker.settle();
    const expected = verifyChain(dropped);
    expect(expected.ok).toBe(false);
    expect(settled[0]).toMatchObject({ kind: 'missing', seq: 5 });
    if (!expected.ok) expect(tracker.state().breaks[0]).toEqual(expected.firstBreak);
  });

  it('names a reordered event (seq contradicting its cause)', () => {
    const chain = sampleChain(7);
    const late = chain[6]!;
    const reordered: WireEnvelope = { ...late, seq: 2, prevHashes: [...late.prevHashes] };
    const tampered = [...chain.slice(0, 6), reordered];
    const { state } = track(tampered);
    const expected = verifyChain(tampered);
    expect(state.breaks).toContainEqual(expect.objectContaining({ kind: 'reordered', eventId: late.id, seq: 2 }));
    expect(expected.ok).toBe(false);
    if (!expected.ok) expect(state.breaks[0]).toEqual(expected.firstBreak);
  });

  it('names a duplicate id with other content (conflicting_id)', () => {
    const chain = sampleChain(6);
    const twin = { ...chain[4]!, occurredAt: '2030-01-01T00:00:00.000Z' };
    const { live, state } = track([...chain, twin], false);
    expect(live).toEqual([expect.objectContaining({ kind: 'conflicting_id', eventId: chain[4]!.id, seq: 4 })]);
    const expected = verifyChain([...chain, twin]);
    if (!expected.ok) expect(state.breaks[0]).toEqual(expected.firstBreak);
  });

  it('names a fork (two events claiming one seq) deterministically', () => {
    const chain = sampleChain(5);
    const fork: WireEnvelope = { ...chain[4]!, id: '00000000-0000-4000-8000-000000000001', data: { other: true } };
    const a = track([...chain, fork]).state.breaks;
    const b = track([fork, ...chain].reverse()).state.breaks;
    expect(a).toEqual(b);
    expect(a).toContainEqual(expect.objectContaining({ kind: 'forked', seq: 4 }));
  });

  it('verifies a 10,000-step chain in linear time', () => {
    const chain = sampleChain(10_000);
    const hashes = chain.map((e) => canonicalHash(e));
    const tracker = new TaskChain(TASK);
    const t = performance.now();
    for (let i = 0; i < chain.length; i++) tracker.add(chain[i]!, hashes[i]!);
    expect(performance.now() - t).toBeLessThan(2_000);
    expect(tracker.state()).toMatchObject({ status: 'ok', count: 10_000, head: { seq: 9_999, hash: hashes[9_999] } });
  });
});

describe('auditTask: on-demand verification with checkpoints', () => {
  const key = 'k'.repeat(40);
  const completed = (chain: WireEnvelope[]): WireEnvelope[] => {
    const last = chain.at(-1)!;
    const end: WireEnvelope = {
      ...last,
      id: '11111111-1111-4111-8111-111111111111',
      type: 'TaskCompleted',
      seq: last.seq + 1,
      prevHashes: [canonicalHash(last)],
      causationId: last.id,
      data: {
        answer: 'done',
        totals: { steps: 1, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0 },
      },
    };
    return [...chain, end];
  };
  const checkpointOf = (envs: WireEnvelope[]) => {
    const head = envs.at(-1)!;
    return signCheckpoint(
      {
        v: 1,
        taskId: TASK,
        tenantId: 'tenant-a',
        count: envs.length,
        head: { seq: head.seq, hash: canonicalHash(head) },
        terminal: true,
        at: '2026-01-01T00:00:00.000Z',
        auditor: 'auditor@test',
      },
      key,
    );
  };

  it('calls an intact, ended task matching its checkpoint complete', () => {
    const envs = completed(sampleChain(5));
    expect(auditTask(TASK, envs, checkpointOf(envs), key)).toMatchObject({ status: 'complete', problems: [] });
  });

  it('reports a task without a terminal event as incomplete', () => {
    const audit = auditTask(TASK, sampleChain(5), null, key);
    expect(audit.status).toBe('incomplete');
    expect(audit.problems).toEqual([expect.objectContaining({ kind: 'no_terminal_event' })]);
  });

  it('reports trailing events cut off after a checkpoint as truncated, naming the head it expected', () => {
    const envs = completed(sampleChain(6));
    const cp = checkpointOf(envs);
    const audit = auditTask(TASK, envs.slice(0, -2), cp, key);
    expect(audit.chain.ok).toBe(true); // the chain alone cannot see it
    expect(audit.status).toBe('incomplete');
    expect(audit.problems).toContainEqual(
      expect.objectContaining({ kind: 'truncated', expectedCount: 7, actualCount: 5, expectedHead: cp.head }),
    );
  });

  it('refuses a checkpoint whose signature does not match (forged count)', () => {
    const envs = completed(sampleChain(4));
    const forged = { ...checkpointOf(envs), count: 2 };
    const audit = auditTask(TASK, envs, forged, key);
    expect(audit.problems).toEqual([expect.objectContaining({ kind: 'checkpoint_invalid' })]);
    expect(auditTask(TASK, envs, checkpointOf(envs), 'x'.repeat(40)).problems[0]?.kind).toBe('checkpoint_invalid');
  });
});
