export { WorkerEnv, jsonEnv, loadConfig } from './config.js';
export { decisionTrustOf } from './decision-trust.js';
export { connectRuntime, runtimeConfigFrom, type RuntimeDeps, type WorkerRuntimeConfig } from './deps.js';
export {
  ConfigError,
  LifecycleError,
  PublishError,
  RetryableHandlerError,
  ShutdownTimeoutError,
  TerminalHandlerError,
  UNCLASSIFIED_ERROR_CODE,
} from './errors.js';
export { createKafka, ensureTopics, kafkajsLogCreator, type EnsureTopicsOptions } from './kafka.js';
export { insertNewDocuments } from './insert-new.js';
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
export { closeInOrder, runUntilSignal, type CloseStep, type Stoppable } from './signals.js';
export {
  RuntimeMetricNames,
  RuntimeSpanAttributes,
  createRuntimeMetrics,
  extractTraceContext,
  injectTraceHeaders,
  registerPropagator,
  runtimeTracer,
  traceIdOf,
  type RuntimeMetrics,
} from './telemetry.js';
export { PartitionTransactions, type AcquiredPartition } from './transactions.js';
export { TopicKinds, Topics, auditTopicConfig, topicKindOf, type TopicKind } from './topics.js';
export {
  WorkerStates,
  defineWorker,
  type Handler,
  type HandlerContext,
  type Handlers,
  type Worker,
  type WorkerDefinition,
  type WorkerState,
} from './worker.js';
