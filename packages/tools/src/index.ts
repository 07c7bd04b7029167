export {
  defineDemoTool,
  demoImpactDeps,
  KEPT_FILES_BUCKET,
  demoToolDeps,
  offlineImpactDeps,
  type DemoImpactDeps,
  type DemoToolDeps,
  type DemoToolStores,
  type HttpAllowlist,
} from './demo-deps.js';
export { createDemoTools, demoTools } from './demo-tools.js';
export { ToolCallError, ToolDefinitionError, ToolErrorCodes, ToolRefusedError } from './errors.js';
export {
  bindTool,
  createRunnableToolRegistry,
  createToolDefinitionRegistry,
  defineRunnableTool,
  defineToolDefinition,
  estimateToolImpact,
  toolName,
  type ImpactContext,
  type RunnableTool,
  type RunnableToolRegistry,
  type ToolDefinition,
  type ToolDefinitionRegistry,
  type ToolLogger,
  type ToolRunContext,
  type VerifyContext,
  type VerifyOutcome,
} from './runnable.js';
export {
  MIN_REPEATED_VALUE_CHARS,
  OpenedValues,
  sealPersonalData,
  sealRepeated,
  sealRepeatedText,
  sealRepeatedTextWithin,
  subjectKeyId,
  type PersonalDataDeclaration,
  type RepeatSealing,
  type SealingOptions,
} from './personal-data.js';
export {
  RollbackPlanningError,
  compensationOf,
  givenStepsOf,
  ERASED_COPY_REASON,
  ERASED_EFFECT_REASON,
  keptErasedIn,
  planRollback,
  planSealedRollback,
  rollbackTask,
  rollbackTaskIdOf,
  type EffectRef,
  type KeptCopyErased,
  type LoggedEvent,
  type PlannedCompensation,
  type RollbackPlan,
  type RollbackTaskOptions,
} from './rollback.js';
export {
  ResourceKindNames,
  RiskTiers,
  createToolRegistry,
  defineTool,
  parseArgPath,
  toolParametersJsonSchema,
  type ArgPath,
  type CompensatingCall,
  type Compensation,
  type RecordedEffect,
  type ResourceKind,
  type RiskTier,
  type ToolRegistry,
  type ToolSpec,
} from './spec.js';
export {
  CUSTOMER_PERSONAL_FIELDS,
  CustomerCollections,
  EFFECTS_FIELD,
  keptCopyErased,
  publicRecord,
  storeFilter,
  type CustomerDoc,
  type CustomersReader,
  type KeptSealing,
  type ReadonlyCustomers,
  type TombstoneDoc,
  type VersionDoc,
} from './stores/customers.js';
export { MemoryKeptFiles, MongoKeptFiles, type KeptFiles, type KeptVersionDoc } from './stores/kept-files.js';
export { Workspace, unlessMissing } from './stores/workspace.js';
export { customersDelete } from './tools/customers-delete.js';
export { customersQuery } from './tools/customers-query.js';
export { customersRestore } from './tools/customers-restore.js';
export { customersRevert } from './tools/customers-revert.js';
export { customersUpdate } from './tools/customers-update.js';
export { emailSend, type OutboxMessage } from './tools/email-send.js';
export { filesDelete } from './tools/files-delete.js';
export { filesRead } from './tools/files-read.js';
export { filesRestore } from './tools/files-restore.js';
export { filesWrite } from './tools/files-write.js';
export { addressAllowed, isAddressRange, parseAddressRanges, type AddressRange } from './address-ranges.js';
export { hostAllowed, httpGet } from './tools/http-get.js';
export { knowledgeSearch, type KnowledgeDoc } from './tools/knowledge-search.js';
export { paymentsRefund, type RefundDoc } from './tools/payments-refund.js';
