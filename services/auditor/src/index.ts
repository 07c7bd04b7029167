/**
 * @warden/auditor: reads every Warden topic, verifies each task's hash chain as events arrive and on demand, projects
 * task timelines into MongoDB, raises AlertRaised on a broken chain, signs checkpoints, serves a tenant-scoped query
 * API and rebuilds its projection from the log.
 */
export { AlertRaiser, alertDraft, findingTaskId } from './alerts.js';
export { TenantKeys, keyFromHeaders } from './api/auth.js';
export { openApiDocument } from './api/openapi.js';
export { buildQueryApi, type QueryApiOptions } from './api/server.js';
export {
  AUDITOR_NAME,
  AUDITOR_VERSION,
  createAuditor,
  type Auditor,
  type AuditorOptions,
  type AuditorState,
} from './auditor.js';
export {
  Checkpoint,
  checkpointSignatureValid,
  keyIdOf,
  signCheckpoint,
  type UnsignedCheckpoint,
} from './checkpoints/checkpoint.js';
export { checkpointTopic, writeCheckpoints } from './checkpoints/checkpointer.js';
export { AuditorEnv, auditorConfigFrom, type AuditorConfig } from './config.js';
export {
  AuditorConfigError,
  AuditorErrorCodes,
  AuditorLifecycleError,
  CheckpointSignatureError,
  RebuildError,
  TopicSettingsError,
} from './errors.js';
export {
  EventKinds,
  factsOf,
  type EventFacts,
  type EventKind,
  type TaskStatus,
  type TokenTotals,
} from './projector/facts.js';
export {
  DEFAULT_TASK_FLUSH_MS,
  ProjectorConsumer,
  Serial,
  type ProjectorConsumerOptions,
} from './projector/consumer.js';
export {
  AUDIT_TASK_PREFIX,
  Projection,
  alertIdOf,
  eventDocOf,
  type ChainFinding,
  type ProjectedInput,
  type ProjectionOptions,
  type TaskHead,
} from './projector/projection.js';
export {
  AuditStore,
  type AlertDoc,
  type CheckpointDoc,
  type EventDoc,
  type EventSource,
  type TaskDoc,
  type UndecodableDoc,
} from './projector/store.js';
export { TaskSummaryFold, type SummaryInput, type TaskSummary } from './projector/task-summary.js';
export { rebuildProjection, type RebuildOptions, type RebuildReport } from './rebuild.js';
export {
  describeTopicSettings,
  ensureAuditTopics,
  topicSettingProblems,
  type TopicSettingProblem,
} from './topics/topic-settings.js';
export { auditTask, type CompletenessProblem, type TaskAudit } from './verify/audit-task.js';
export {
  backtestProjection,
  backtestTask,
  backtestTasks,
  taskEvents,
  type BacktestOptions,
  type BacktestReport,
  type Outcome,
  type VerdictChange,
} from './backtest.js';
