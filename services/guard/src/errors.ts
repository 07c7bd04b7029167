/** Errors of the guard service (the policy's own errors are in @warden/policy). */
import { WardenError } from '@warden/contracts';

/** Error codes of the guard service. */
export const GuardServiceErrorCodes = {
  calibrationLoad: 'WARDEN_GUARD_CALIBRATION_LOAD',
} as const;

/**
 * The published calibrations could not be read to their end at start. Retryable (Kafka may answer later), but the
 * guard does not start judging with a calibration that may be out of date.
 */
export class CalibrationLoadError extends WardenError {
  readonly code = GuardServiceErrorCodes.calibrationLoad;
  readonly retryable = true;
}
