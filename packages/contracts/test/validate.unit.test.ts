import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventValidationError,
  UnknownEventTypeError,
  eventTypes,
  isWardenError,
  newTask,
  validateEvent,
  validateWireEnvelope,
} from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';

const valid = newTask(sampleTask(), { tenantId: 'tenant-a', producer: 'test' });

function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(isWardenError(error), String(error)).toBe(true);
    expect(error instanceof EventValidationError || error instanceof UnknownEventTypeError).toBe(true);
  }
}

describe('event validation', () => {
  it('accepts a valid TaskSubmitted and applies defaults', () => {
    const event = validateEvent(valid);
    expect(event.type).toBe('TaskSubmitted');
    if (event.type === 'TaskSubmitted') expect(event.data.scope.resources.paths).toEqual([]);
  });

  it('names the offending field', () => {
    const bad = { ...valid, data: { ...valid.data, budgets: { ...valid.data.budgets, maxSteps: 0 } } };
    expect(() => validateEvent(bad)).toThrow(/data\.budgets\.maxSteps/);
  });

  it.each([
    ['negative', -1],
    ['zero', 0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['absurdly large', 1e15],
    ['missing', undefined],
  ])('refuses a %s limit at submission, never reading it as unbounded', (_name, value) => {
    const limits: Record<string, unknown> = { ...valid.data.limits, maxRowsPerAction: value };
    if (value === undefined) delete limits.maxRowsPerAction;
    expect(() => validateEvent({ ...valid, data: { ...valid.data, limits } })).toThrow(EventValidationError);
  });

  it('refuses unknown event types with a typed error', () => {
    expect(() => validateEvent({ ...valid, type: 'TaskExploded' })).toThrow(UnknownEventTypeError);
    expect(() => validateEvent(null)).toThrow(UnknownEventTypeError);
  });

  it('refuses unknown envelope fields', () => {
    expect(() => validateEvent({ ...valid, extra: 1 })).toThrow(EventValidationError);
  });

  it('gives a typed error and nothing else for any random value', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        onlyTypedErrors(() => validateEvent(value));
        onlyTypedErrors(() => validateWireEnvelope(value));
      }),
      { numRuns: 500 },
    );
  });

  it('gives a typed error and nothing else for envelopes with random fields and payloads', () => {
    const envelope = fc.record(
      {
        id: fc.oneof(fc.uuid(), fc.string()),
        type: fc.oneof(fc.constantFrom(...eventTypes), fc.string()),
        taskId: fc.oneof(fc.string(), fc.integer()),
        tenantId: fc.string(),
        seq: fc.oneof(fc.integer(), fc.double()),
        prevHashes: fc.array(fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string())),
        causationId: fc.oneof(fc.constant(null), fc.uuid()),
        correlationId: fc.string(),
        occurredAt: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        producer: fc.string(),
        policyVersion: fc.string(),
        data: fc.oneof(fc.object(), fc.anything(), fc.constant(valid.data)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (value) => onlyTypedErrors(() => validateEvent(value))),
      { numRuns: 1000 },
    );
  });
});
