import { eventDataSchemas, newTask, type WireEnvelope } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { RetryableHandlerError, TerminalHandlerError } from '@warden/runtime';
import { describe, expect, it } from 'vitest';
import { deadLetterDraft, headersOf } from '../src/worker/dead-letter.js';

const message = (key: string | null, value: string | null, headers: Record<string, string | Buffer> = {}) => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  offset: '42',
  headers,
});
const base = { worker: 'echo', producer: 'echo@0.1.0', topic: 'warden.tasks.v1', partition: 2, attempts: 1 };

describe('a dead letter', () => {
  it('keeps the original bytes, key, headers and position, and the error that stopped it', () => {
    const error = new TerminalHandlerError('never valid');
    const draft = deadLetterDraft({
      ...base,
      message: message('task-7', 'not an event', { 'warden-tenant-id': 'tenant-a', other: Buffer.from('x') }),
      error,
      now: new Date('2030-01-01T00:00:00Z'),
      id: '00000000-0000-4000-8000-000000000001',
    });
    expect(draft).toMatchObject({
      id: '00000000-0000-4000-8000-000000000001',
      type: 'DeadLettered',
      taskId: 'task-7',
      tenantId: 'tenant-a',
      seq: 0,
      prevHashes: [],
      causationId: null,
      correlationId: 'task-7',
      occurredAt: '2030-01-01T00:00:00.000Z',
      producer: 'echo@0.1.0',
      policyVersion: 'none',
      data: {
        worker: 'echo',
        originalTopic: 'warden.tasks.v1',
        partition: 2,
        offset: '42',
        keyBase64: Buffer.from('task-7').toString('base64'),
        valueBase64: Buffer.from('not an event').toString('base64'),
        headers: { 'warden-tenant-id': 'tenant-a', other: 'x' },
        errorCode: 'WARDEN_RUNTIME_HANDLER_TERMINAL',
        errorMessage: 'never valid',
        attempts: 1,
      },
    });
    expect(draft.data.stack).toContain('never valid');
    expect(eventDataSchemas.DeadLettered.safeParse(draft.data).success).toBe(true);
  });

  it("takes task, tenant, cause and policy from the event's envelope when it was decoded", () => {
    const task = newTask(sampleTask(), {
      tenantId: 'tenant-b',
      taskId: 'task-9',
      producer: 'test',
      policyVersion: 'p.v2',
    });
    const draft = deadLetterDraft({
      ...base,
      message: message('other-key', '{}', { 'warden-task-id': 'header-task' }),
      envelope: task as unknown as WireEnvelope,
      error: new RetryableHandlerError('busy'),
      attempts: 5,
    });
    expect(draft).toMatchObject({
      taskId: 'task-9',
      tenantId: 'tenant-b',
      causationId: task.id,
      correlationId: 'task-9',
      policyVersion: 'p.v2',
      data: { errorCode: 'WARDEN_RUNTIME_HANDLER_RETRYABLE', attempts: 5 },
    });
  });

  it('falls back to the task header, then the key; an unsafe or missing id becomes "unknown"', () => {
    const fromHeader = deadLetterDraft({ ...base, message: message('k', 'v', { 'warden-task-id': 't-1' }), error: 1 });
    expect(fromHeader.taskId).toBe('t-1');
    expect(deadLetterDraft({ ...base, message: message('key-1', 'v'), error: 1 }).taskId).toBe('key-1');
    const unsafe = deadLetterDraft({ ...base, message: message('../../etc\n', null), error: 1 });
    expect([unsafe.taskId, unsafe.tenantId, unsafe.data.valueBase64]).toEqual(['unknown', 'unknown', null]);
    const none = deadLetterDraft({ ...base, message: message(null, null), error: new Error('x') });
    expect([none.taskId, none.data.keyBase64, none.data.errorCode]).toEqual([
      'unknown',
      null,
      'WARDEN_RUNTIME_UNCLASSIFIED',
    ]);
  });

  it('bounds the error message and stack it keeps, and records a thrown non-error as text', () => {
    const error = new Error('m'.repeat(20_000));
    error.stack = 's'.repeat(40_000);
    const draft = deadLetterDraft({ ...base, message: message('k', 'v'), error });
    expect(draft.data.errorMessage).toHaveLength(8_000);
    expect(draft.data.stack).toHaveLength(16_000);
    const thrown = deadLetterDraft({ ...base, message: message('k', 'v'), error: 'a string' });
    expect([thrown.data.errorMessage, thrown.data.stack]).toEqual(['a string', null]);
  });

  it('reads headers as text, the first of repeated values', () => {
    expect(headersOf({ headers: { a: 'x', b: Buffer.from('y'), c: [Buffer.from('z'), 'w'], d: undefined } })).toEqual({
      a: 'x',
      b: 'y',
      c: 'z',
    });
    expect(headersOf({})).toEqual({});
  });
});
