import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskChain, canonicalHash, verifyChain, type ChainVector, type WireEnvelope } from '@warden/contracts';
import { sampleChain, shuffled } from '@warden/contracts/testing';

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

describe('TaskChain: the vectors and the rules in any arrival order', () => {
  const vector = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../../schemas/test-vectors/chain.json'), 'utf8'),
  ) as ChainVector;

  it('hashes the chain vector as stored and accepts it in every arrival order', () => {
    expect(vector.events.map((e) => canonicalHash(e))).toEqual(vector.hashes);
    fc.assert(
      fc.property(fc.shuffledSubarray([...vector.events], { minLength: vector.events.length }), (order) => {
        const chain = new TaskChain(vector.events[0]!.taskId);
        for (const e of order) expect(chain.add(e, canonicalHash(e))).toEqual([]);
        expect(chain.settle()).toEqual([]);
        expect(chain.state()).toMatchObject({
          status: 'ok',
          count: vector.events.length,
          head: { seq: vector.events.length - 1, hash: vector.hashes.at(-1) },
        });
      }),
    );
  });

  // Two different events with one id are the exception: which one the others link to depends on which came first.
  it('finds the same breaks whatever order a tampered chain arrives in', () => {
    const chain = sampleChain(8);
    const tamper = fc.oneof(
      fc.record({ drop: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ alter: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ reseq: fc.integer({ min: 1, max: 7 }), to: fc.integer({ min: 0, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.array(tamper, { maxLength: 3 }), fc.nat(), fc.nat(), (changes, seedA, seedB) => {
        let events: WireEnvelope[] = chain.map((e) => ({ ...e, prevHashes: [...e.prevHashes] }));
        for (const c of changes) {
          if ('drop' in c) events = events.filter((_, i) => i !== c.drop);
          else if ('alter' in c) events = events.map((e, i) => (i === c.alter ? { ...e, producer: 'mallory' } : e));
          else events = events.map((e, i) => (i === c.reseq ? { ...e, seq: c.to } : e));
        }
        const a = track(shuffled(events, seedA)).state;
        const b = track(shuffled(events, seedB)).state;
        expect(b).toEqual(a);
        expect(verifyChain(shuffled(events, seedA), TASK)).toEqual(
          a.breaks.length === 0
            ? { ok: true, taskId: TASK, count: a.count, head: a.head }
            : { ok: false, taskId: TASK, firstBreak: a.breaks[0], breaks: a.breaks },
        );
      }),
      { numRuns: 300 },
    );
  });

  it('checks a join of parallel steps against the highest seq among its causes', () => {
    const [task, a] = sampleChain(2);
    const b: WireEnvelope = {
      ...a!,
      id: '00000000-0000-4000-8000-0000000000b2',
      seq: 2,
      causationId: a!.id,
      prevHashes: [canonicalHash(a!)],
    };
    const join = (seq: number): WireEnvelope => ({
      ...a!,
      id: '00000000-0000-4000-8000-0000000000c3',
      seq,
      causationId: b.id,
      prevHashes: [canonicalHash(a!), canonicalHash(b)],
    });
    expect(verifyChain([join(3), b, a!, task!])).toMatchObject({ ok: true, count: 4 });
    expect(track([join(3), b, task!], false).state.status).toBe('pending'); // one cause not read yet
    const early = verifyChain([task!, a!, b, join(2)]);
    expect(early.ok).toBe(false);
    if (!early.ok) expect(early.breaks).toContainEqual(expect.objectContaining({ kind: 'reordered', seq: 2 }));
  });
});
