/**
 * @warden/planner: calls the model through the openai package and turns its output into proposals, with budgets
 * reserved before each call, a bounded context window, loop detection and a per-task breaker. decide/ is pure.
 */
export {
  TenantAllowances,
  tenantRefusal,
  type AllowanceSettings,
  type Amount,
  type BudgetLimit,
  type BudgetRefusal,
  type Grant,
  type TakeOutcome,
  type TakeRequest,
  type TenantBudgetOwner,
  type TenantBudgets,
  type TenantHold,
  type TenantReserveOutcome,
} from './tenant-allowances.js';
export {
  BudgetLogFold,
  TenantBudgetLog,
  TenantBudgetRecord,
  TenantBudgetSnapshotRecord,
  TenantFigures,
  DEFAULT_TENANT_BUDGET_SNAPSHOT_EVERY,
  snapshotKeyOf,
  tenantBudgetSnapshotTopic,
  tenantBudgetSnapshotTopicConfig,
  tenantBudgetTopic,
  tenantBudgetTopicConfig,
  tenantBudgetLogOf,
  type BudgetLogRecord,
  type FiguresSnapshot,
  type Folded,
  type TenantBudgetLogOptions,
  type TenantFiguresView,
} from './tenant-budget-log.js';
export {
  LEGACY_BUDGET_COLLECTION,
  LEGACY_BUDGET_SOURCE,
  readLegacyBudgets,
  warnOfUncarriedLegacySpend,
  type LegacyBudgets,
  type LegacyTenantSpend,
} from './legacy-budget-log.js';
export { DEFAULT_PRICES, PlannerEnv, loadPlannerConfig, type PlannerConfig, type PlannerSettings } from './config.js';
export {
  costOf,
  priceOf,
  reservationFor,
  resolveLimits,
  reserveTaskBudget,
  settleTaskBudget,
  taskBudgetOf,
  taskBudgetRefusal,
  toMicroUsd,
  type ModelPrice,
  type TaskCeilings,
} from './decide/budget.js';
export { combineConfidence } from './decide/confidence.js';
export { SYSTEM_PROMPT, buildContext, summariseTurns, taskMessage } from './decide/context-window.js';
export {
  checkToolCall,
  functionNameOf,
  interpretQueuedCall,
  interpretReply,
  toolOfFunctionName,
  type ReplyView,
} from './decide/interpret.js';
export { detectLoop, type LoopFinding } from './decide/loops.js';
export { decideNext, type HaltReason, type NextStep } from './decide/next-step.js';
export { partialResult, totalsOf } from './decide/partial.js';
export { APPLIED_MEMORY, evolve, initialState, type EvolveOptions, type Fact } from './decide/state.js';
export { renderToolOutput } from './decide/tool-output.js';
export {
  BadOutputClasses,
  TaskStatuses,
  type ActionRecord,
  type BadOutputClass,
  type Interpretation,
  type LoopSettings,
  type PendingProposal,
  type RawToolCall,
  type OpenReservation,
  type TaskBudget,
  type TaskLimits,
  type TaskState,
  type TaskStatus,
  type TokenCounter,
  type Totals,
  type Turn,
  type WindowSettings,
} from './decide/types.js';
export {
  BudgetStoreError,
  ModelCallError,
  ModelCallFailureClasses,
  PlannerErrorCodes,
  type ModelCallFailureClass,
} from './errors.js';
export { createHandlers, plannerConsumes, plannerWake } from './handlers/index.js';
export type { HandlerDeps, PlannerContext } from './handlers/outcome.js';
export type { ModelClient, ModelReply, ModelRequest, OfferedTool } from './model/model-client.js';
export { classifyModelError, createOpenAiModel, type OpenAiModelSettings } from './model/openai-model.js';
export { countCompletionTokens, countPromptTokens, o200kCounter } from './model/tokens.js';
export { OpenTools } from './open-tools.js';
export { advance, clearMessages, complete, type PlannerDeps, type PlannerSealing } from './planning.js';
export {
  PlannerRecord,
  endedTask,
  expire,
  keep,
  recordOf,
  runningTask,
  type EndedTask,
  type KeepOptions,
} from './task-state.js';
export {
  NO_TASK_VIEWS,
  TASK_VIEWS_COLLECTION,
  TaskViewWriter,
  taskViewOf,
  type TaskViewDoc,
  type TaskViewSink,
  type TaskViewWriterOptions,
} from './task-views.js';
export {
  createPlannerHandlers,
  createPlannerWorker,
  tenantAllowances,
  tenantBudgetLog,
  type PlannerWorkerOptions,
} from './worker.js';
