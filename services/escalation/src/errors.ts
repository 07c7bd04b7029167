import { WardenError } from '@warden/contracts';

/** Every escalation service error code (prefix WARDEN_ESCALATION_). */
export const EscalationErrorCodes = {
  config: 'WARDEN_ESCALATION_CONFIG',
  publish: 'WARDEN_ESCALATION_PUBLISH',
} as const;

/** The service's configuration is invalid (signing key, token file, JWT settings). Terminal. */
export class EscalationConfigError extends WardenError {
  readonly code = EscalationErrorCodes.config;
  readonly retryable = false;
}

/** A decision or expiry could not be published; its claim was released so it may be tried again. Retryable. */
export class DecisionPublishError extends WardenError {
  readonly code = EscalationErrorCodes.publish;
  readonly retryable = true;
}
