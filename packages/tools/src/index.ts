export {
  customersDelete,
  customersQuery,
  customersUpdate,
  demoTools,
  emailSend,
  filesDelete,
  filesRead,
  filesWrite,
  httpGet,
  knowledgeSearch,
  paymentsRefund,
} from './demo-tools.js';
export {
  ResourceKindNames,
  ToolDefinitionError,
  createToolRegistry,
  defineTool,
  parseArgPath,
  toolParametersJsonSchema,
  type ArgPath,
  type ResourceKind,
  type ToolRegistry,
  type ToolSpec,
} from './spec.js';
export {
  RiskTiers,
  createRunnableToolRegistry,
  defineRunnableTool,
  toolName,
  type RiskTier,
  type RunnableTool,
  type RunnableToolRegistry,
  type ToolLogger,
  type ToolRunContext,
  type VerifyOutcome,
} from './runnable.js';
export { ToolCallError, ToolErrorCodes, ToolRefusedError } from './errors.js';
export {
  CustomerCollections,
  EFFECTS_FIELD,
  publicRecord,
  storeFilter,
  type CustomerDoc,
  type TombstoneDoc,
} from './stores/customers.js';
export { isDuplicateKey } from './stores/mongo-errors.js';
export { Workspace } from './stores/workspace.js';
export { customersDeleteTool } from './tools/customers-delete.js';
export { customersQueryTool } from './tools/customers-query.js';
export { customersUpdateTool } from './tools/customers-update.js';
export { emailSendTool, type OutboxMessage } from './tools/email-send.js';
export { filesDeleteTool } from './tools/files-delete.js';
export { filesReadTool } from './tools/files-read.js';
export { filesWriteTool } from './tools/files-write.js';
export { hostAllowed, httpGetTool, type HttpAllowlist } from './tools/http-get.js';
export { knowledgeSearchTool, type KnowledgeDoc } from './tools/knowledge-search.js';
export { paymentsRefundTool, type RefundDoc } from './tools/payments-refund.js';
