/**
 * @warden/executor: runs approved tool calls exactly once (effect ledger), bound to their args hash, through
 * per-tool breakers shared by every replica, with timeouts that cancel and output validation.
 */
export {
  approvalOf,
  checkApproval,
  RefusalCodes,
  type Approval,
  type ApprovalCheck,
  type RefusalCode,
} from './approval.js';
export {
  BreakerSync,
  SharedBreakerState,
  ToolBreakers,
  breakerTopic,
  type BreakerCall,
  type BreakerSettings,
  type BreakerStateSink,
  type BreakerTransition,
} from './breakers.js';
export { callTool, checkOutput, type CallOptions } from './call.js';
export {
  DEFAULT_TASK_WAIT_MS,
  ExecutorEnv,
  loadExecutorConfig,
  type ExecutorConfig,
  type ExecutorSettings,
} from './config.js';
export {
  ExecutorErrorCodes,
  InvalidToolOutputError,
  LedgerConflictError,
  LedgerUnavailableError,
  ToolCallError,
  ToolRefusedError,
  ToolTimeoutError,
} from './errors.js';
export { ExecutorTaskState, type HeldTask, type PendingApproval } from './task-state.js';
export { checkTaskScope, checkVerdictSignature, type TrustCheck } from './task-check.js';
export { createHandlers, createWake, executorConsumes } from './handlers/index.js';
export {
  effectKeyOf,
  executeApproval,
  type ExecuteContext,
  type ExecutorHandlerDeps,
  type ExecutorHooks,
  type KnownTask,
} from './handlers/execute.js';
export {
  EffectLedger,
  type DispatchRecord,
  type EffectLedgerOptions,
  type EffectState,
  type FailureClass,
  type IntentRecord,
  type OutcomeRecord,
} from './ledger.js';
export {
  CustomerCollections,
  EFFECTS_FIELD,
  Workspace,
  createDemoTools,
  hostAllowed,
  publicRecord,
  type DemoToolStores,
} from '@warden/tools';
export { createExecutorWorker, executorDemoTools, type ExecutorWorker, type ExecutorWorkerOptions } from './worker.js';
