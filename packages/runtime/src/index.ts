export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_TOPIC_PARTITIONS,
  WorkerEnv,
  jsonEnv,
  sealPatternsEnv,
  keyTextEnv,
  loadConfig,
  signingKeyEnv,
  stateChangelogConfig,
  TRANSACTION_RETRY,
  verifyingKeysEnv,
} from './config.js';
export { decisionTrustOf } from './decision-trust.js';
export {
  connectRuntime,
  createMongoClient,
  runtimeConfigFrom,
  subjectKeysOf,
  type RuntimeDeps,
  type WorkerRuntimeConfig,
} from './deps.js';
export {
  ConfigError,
  EventIdConflictError,
  InfrastructureError,
  LifecycleError,
  PublishError,
  RetryableHandlerError,
  ShutdownTimeoutError,
  TaskConflictError,
  TerminalHandlerError,
  UNCLASSIFIED_ERROR_CODE,
} from './errors.js';
export { createKafka, ensureTopics, kafkajsLogCreator, type EnsureTopicsOptions, type KafkaSecurity } from './kafka.js';
export { jsonOrUndefined } from './json.js';
export {
  ALL_DEPENDENCIES,
  Dependencies,
  FailureKinds,
  dependencyOf,
  failureKindOf,
  type Dependency,
  type FailureKind,
} from './infrastructure.js';
export { insertNewDocuments } from './insert-new.js';
export { createIndexesOnce } from './mongo-indexes.js';
export {
  EVENT_CONTENT_TYPE,
  Publisher,
  WardenHeaders,
  producerConfig,
  sendAll,
  requestsOf,
  MAX_REQUEST_BYTES,
  toOutgoing,
  type OutgoingMessage,
} from './publisher.js';
export { closeInOrder, runUntilSignal, type CloseStep, type Service, type Stoppable } from './signals.js';
export { abortableSleep, withScopedSignal } from './sleep.js';
export {
  RuntimeMetricNames,
  RuntimeSpanAttributes,
  createRuntimeMetrics,
  extractTraceContext,
  injectTraceHeaders,
  runtimeTracer,
  traceIdOf,
  type RuntimeMetrics,
} from './telemetry.js';
export {
  AgentMetricCatalog,
  AgentMetricNames,
  BreakerStateValues,
  CappedLabel,
  OTHER_LABEL,
  WorkerMetricCatalog,
  createAuditorMetrics,
  createEscalationMetrics,
  createExecutorMetrics,
  createGuardMetrics,
  createPlannerMetrics,
  type AgentMetricSpec,
  type AuditorMetrics,
  type EscalationMetrics,
  type ExecutorMetrics,
  type GuardMetrics,
  type MetricType,
  type PlannerMetrics,
} from './agent-metrics.js';
export {
  CommonAttributes,
  GEN_AI_TOOL_TYPE_FUNCTION,
  GenAiAttributes,
  GenAiOperations,
  GenAiProviders,
  WardenSpanAttributes,
  endSpan,
} from './semconv.js';
export {
  DEFAULT_METRICS_MAX_TENANTS,
  TASK_ROOT_TRACE_STATE,
  TELEMETRY_OFF,
  TaskRootSampler,
  TelemetryEnv,
  TraceSamplers,
  closingTelemetry,
  samplerOf,
  startTelemetry,
  taskRootContext,
  telemetryConfigFrom,
  type StartTelemetryOptions,
  type Telemetry,
  type TelemetryConfig,
  type TraceSampler,
} from './telemetry-sdk.js';
export { PartitionTransactions, type AcquiredPartition } from './transactions.js';
export {
  CoordinatorLookups,
  coordinatorLookups,
  installCoordinatorLookups,
  type CoordinatorLookupArgs,
} from './coordinator-lookups.js';
export {
  groupOffsetsOf,
  offsetsOf,
  readLatestByKey,
  readTopics,
  type LatestByKey,
  type LogReaderDeps,
  type ReadMessage,
  type ReadOptions,
} from './log-reader.js';
export { TopicKinds, Topics, auditTopicConfig, topicKindOf, type TopicKind } from './topics.js';
export { defineWorker } from './worker/define-worker.js';
export type { DependencyState } from './worker/dependency-monitor.js';
export { WorkerLifecycle, WorkerStates, WorkerTransitions, type WorkerState } from './worker/lifecycle.js';
export type {
  Handler,
  HandlerContext,
  Handlers,
  StateDefinition,
  WakeContext,
  Worker,
  WorkerDefinition,
} from './worker/types.js';
export { StateLayer, StateStores, PartitionState, type TaskState } from './worker/state-store.js';
export { coPartitionedAssigner, CO_PARTITIONED_ASSIGNER } from './worker/co-partitioned-assigner.js';
export { DEAD_LETTER_ALERT_TASK_PREFIX, deadLetterAlertTaskId } from './worker/dead-letter.js';
export {
  LOCAL_GUARD_KEY_ID,
  decisionKeysFileIn,
  ensureDecisionKeyFile,
  ensureProducerKeyFiles,
  guardKeysFileIn,
  producerKeyFilesIn,
  producerKeysFileIn,
  producerPublicKeysText,
  type DecisionKeyFile,
} from './decision-keys.js';
export {
  CLIENT_GROUP_PREFIXES,
  KafkaPrincipals,
  LOCAL_SASL_MECHANISM,
  WorkerPrincipals,
  ensureKafkaUsersFile,
  grantKafkaAcls,
  kafkaAclsFor,
  kafkaSaslEnv,
  kafkaSecurityOf,
  kafkaUsersFileIn,
  readKafkaUsersFile,
  topicRights,
  type KafkaPrincipal,
  type KafkaUsersFile,
  type WorkerPrincipal,
} from './kafka-principals.js';
