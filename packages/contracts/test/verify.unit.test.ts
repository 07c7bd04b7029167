import { describe, expect, it } from 'vitest';
import { canonicalHash, follow, verifyChain, type WireEnvelope } from '@warden/contracts';
import { sampleChain, shuffled, uuidAt } from '@warden/contracts/testing';

describe('verifyChain', () => {
  const chain = sampleChain(8);

  it('accepts an intact chain in any read order and names its head', () => {
    const verdict = verifyChain(shuffled(chain));
    expect(verdict).toMatchObject({ ok: true, count: 8, head: { seq: 7, hash: canonicalHash(chain[7]) } });
  });

  it('does not count the same event delivered twice as a break', () => {
    expect(verifyChain([...chain, chain[3]!, chain[0]!, structuredClone(chain[5]!)]).ok).toBe(true);
  });

  it('names an altered event', () => {
    const tampered = chain.map((e) =>
      e.seq === 3 ? { ...e, data: { ...(e.data as object), result: { rows: 999 } } } : e,
    );
    const verdict = verifyChain(tampered);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.firstBreak).toMatchObject({ kind: 'altered', eventId: chain[3]!.id, seq: 3 });
  });

  it('names a missing event in the middle', () => {
    const verdict = verifyChain(chain.filter((e) => e.seq !== 4));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.firstBreak).toMatchObject({ kind: 'missing', seq: 4 });
    expect(verdict.breaks.some((b) => b.kind === 'missing' && b.eventId === chain[4]!.id)).toBe(true);
  });

  it('names a missing genesis', () => {
    const verdict = verifyChain(chain.slice(1));
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.firstBreak).toMatchObject({ kind: 'missing', seq: 0 });
  });

  it('names an event whose seq contradicts its cause (reordered)', () => {
    const cause = chain[5]!;
    const late = follow(
      { envelope: cause, hash: canonicalHash(cause) },
      'ToolFailed',
      {
        actionId: 'x',
        tool: 't',
        effectKey: 'k',
        errorClass: 'tool_error',
        message: 'm',
        retryable: false,
        durationMs: 1,
      },
      { producer: 'test', id: uuidAt('late', 0), now: new Date('2026-01-01T00:00:01Z') },
    );
    const reordered: WireEnvelope = { ...late, seq: 2, prevHashes: [...late.prevHashes] };
    const verdict = verifyChain([...chain.slice(0, 6), reordered]);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.firstBreak).toMatchObject({ kind: 'reordered', eventId: late.id, seq: 2 });
  });

  it('names two different events that carry one id', () => {
    const twin = { ...chain[6]!, occurredAt: '2027-01-01T00:00:00.000Z' };
    const verdict = verifyChain([...chain, twin]);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.firstBreak).toMatchObject({ kind: 'conflicting_id', eventId: chain[6]!.id });
  });

  it('names a fork: two events claiming one seq', () => {
    const cause = chain[2]!;
    const other = follow(
      { envelope: cause, hash: canonicalHash(cause) },
      'ToolSucceeded',
      { actionId: 'fork', tool: 't', effectKey: 'k', result: null, durationMs: 1 },
      { producer: 'test', id: uuidAt('fork', 0) },
    );
    const verdict = verifyChain([...chain, { ...other, prevHashes: [...other.prevHashes] }]);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.firstBreak).toMatchObject({ kind: 'forked', seq: 3 });
  });

  it('names an event of another task mixed in', () => {
    const other = sampleChain(2, 'task-other');
    const verdict = verifyChain([...chain, other[1]!], chain[0]!.taskId);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.breaks.some((b) => b.kind === 'foreign')).toBe(true);
  });

  it('ignores dead letters, which are outside the chain', () => {
    const dead = { ...chain[0]!, id: uuidAt('dead', 0), type: 'DeadLettered', seq: 0 };
    expect(verifyChain([...chain, dead]).ok).toBe(true);
  });
});
