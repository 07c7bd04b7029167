/**
 * @warden/guard-service: the guard as a worker. It keeps each task's view (evolve from @warden/policy over the task's
 * events), judges every proposal with decide() from @warden/policy and publishes the verdicts.
 */
export { GuardEnv, TenantCapsSetting, capsLookup, loadGuardConfig, type GuardConfig } from './config.js';
export {
  DEFAULT_CAUSE_WAIT_MS,
  createHandlers,
  createWake,
  guardConsumes,
  withReviewSample,
  type GuardHandlerDeps,
} from './handlers/index.js';
export { storeImpactEstimator } from './impact.js';
export { GuardTaskState, emptyTaskState, type PendingProposal } from './task-state.js';
export { CalibrationFollower } from './calibrations.js';
export { CalibrationLoadError, GuardServiceErrorCodes } from './errors.js';
export {
  DEFAULT_CALIBRATION_LOAD_TIMEOUT_MS,
  createGuardWorker,
  type GuardWorker,
  type GuardWorkerOptions,
} from './worker.js';
