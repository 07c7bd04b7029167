import { describe, expect, it } from 'vitest';
import {
  BlobCorruptError,
  BlobMissingError,
  CanonicalFormError,
  ContractsErrorCodes,
  EventValidationError,
  MalformedEventError,
  RegistryUnavailableError,
  SchemaIncompatibleError,
  UnknownEventTypeError,
  isWardenError,
} from '@warden/contracts';

describe('contracts errors', () => {
  it.each([
    [new EventValidationError('bad', [{ path: 'a.b', message: 'no' }]), ContractsErrorCodes.validation, false],
    [new UnknownEventTypeError('x'), ContractsErrorCodes.unknownType, false],
    [new MalformedEventError('x'), ContractsErrorCodes.malformed, false],
    [new SchemaIncompatibleError('x'), ContractsErrorCodes.schemaIncompatible, false],
    [new RegistryUnavailableError('x'), ContractsErrorCodes.registryUnavailable, true],
    [new BlobMissingError('x'), ContractsErrorCodes.blobMissing, true],
    [new BlobCorruptError('x'), ContractsErrorCodes.blobCorrupt, false],
    [new CanonicalFormError('x'), ContractsErrorCodes.canonicalForm, false],
  ])('%s has a stable code and retryable flag', (error, code, retryable) => {
    expect(error.code).toBe(code);
    expect(error.code.startsWith('WARDEN_CONTRACTS_')).toBe(true);
    expect(error.retryable).toBe(retryable);
    expect(isWardenError(error)).toBe(true);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code, retryable });
  });

  it('keeps the cause and lists validation issues in the message', () => {
    const cause = new Error('root');
    const error = new EventValidationError('bad event', [{ path: 'data.goal', message: 'too short' }], { cause });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('data.goal: too short');
    expect(isWardenError(new Error('plain'))).toBe(false);
  });
});
