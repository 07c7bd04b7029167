import { isWardenError } from '@warden/contracts';
import {
  ConfigError,
  EventIdConflictError,
  LifecycleError,
  PublishError,
  RetryableHandlerError,
  ShutdownTimeoutError,
  TaskConflictError,
  TerminalHandlerError,
} from '@warden/runtime';
import { describe, expect, it } from 'vitest';

describe('runtime errors', () => {
  it.each([
    [new RetryableHandlerError('x'), 'WARDEN_RUNTIME_HANDLER_RETRYABLE', true],
    [new RetryableHandlerError('x', { code: 'WARDEN_PLANNER_MODEL_BUSY' }), 'WARDEN_PLANNER_MODEL_BUSY', true],
    [new TerminalHandlerError('x'), 'WARDEN_RUNTIME_HANDLER_TERMINAL', false],
    [new PublishError('x'), 'WARDEN_RUNTIME_PUBLISH', true],
    [new ConfigError('x'), 'WARDEN_RUNTIME_CONFIG', false],
    [new LifecycleError('x'), 'WARDEN_RUNTIME_LIFECYCLE', false],
    [new ShutdownTimeoutError('x'), 'WARDEN_RUNTIME_SHUTDOWN_TIMEOUT', true],
    [new EventIdConflictError('x'), 'WARDEN_RUNTIME_EVENT_ID_CONFLICT', false],
    [new TaskConflictError('x'), 'WARDEN_RUNTIME_TASK_CONFLICT', false],
  ])('%s has a stable code and the retryable flag the DLQ rule reads', (error, code, retryable) => {
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(isWardenError(error)).toBe(true);
  });
});
