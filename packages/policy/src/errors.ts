/**
 * Typed errors of the guard. Every error carries a stable `code` (prefix WARDEN_GUARD_), a `retryable` flag and
 * an optional `cause`. decide() itself does not throw on a bad proposal: it denies. These errors are for bad
 * configuration (a policy file, a tool definition, tenant caps) and for inputs that have no canonical form.
 */
import { WardenError, type ValidationIssue, type WardenErrorOptions } from '@warden/contracts';

/** Every guard error code. */
export const GuardErrorCodes = {
  policyInvalid: 'WARDEN_GUARD_POLICY_INVALID',
  inputInvalid: 'WARDEN_GUARD_INPUT_INVALID',
  limitsInvalid: 'WARDEN_GUARD_LIMITS_INVALID',
} as const;

/** A guard error code. */
export type GuardErrorCode = (typeof GuardErrorCodes)[keyof typeof GuardErrorCodes];

/** Base class of the guard's errors. */
export abstract class GuardError extends WardenError {
  abstract override readonly code: GuardErrorCode;
}

function withIssues(message: string, issues: readonly ValidationIssue[]): string {
  if (issues.length === 0) return message;
  return `${message}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`;
}

/** A policy file is not valid JSON, does not match the policy schema, or is incoherent. Terminal. */
export class PolicyInvalidError extends GuardError {
  readonly code = GuardErrorCodes.policyInvalid;
  readonly retryable = false;
  /** Every problem found, with its path in the policy document. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[], options: WardenErrorOptions = {}) {
    super(withIssues(message, issues), { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}

/** decide() was given an input with no canonical JSON form (NaN, a cycle). Terminal: the same input never works. */
export class GuardInputError extends GuardError {
  readonly code = GuardErrorCodes.inputInvalid;
  readonly retryable = false;
}

/** A task's limits are missing, non-positive, NaN, absurd or above the tenant's caps. Terminal. */
export class TaskLimitsInvalidError extends GuardError {
  readonly code = GuardErrorCodes.limitsInvalid;
  readonly retryable = false;
  /** Every problem found, with its path in the task. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[], options: WardenErrorOptions = {}) {
    super(withIssues(message, issues), { ...options, details: { ...options.details, issues } });
    this.issues = issues;
  }
}
