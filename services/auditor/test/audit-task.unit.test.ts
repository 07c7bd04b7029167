import { canonicalHash, type WireEnvelope } from '@warden/contracts';
import { sampleChain } from '@warden/contracts/testing';
import { describe, expect, it } from 'vitest';
import { auditTask, signCheckpoint } from '../src/index.js';

const TASK = 'task-sample';

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
