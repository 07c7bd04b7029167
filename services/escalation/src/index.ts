export { buildPeopleApi, type PeopleApiOptions } from './api/server.js';
export { openApiDocument } from './api/openapi.js';
export {
  Authenticator,
  Roles,
  bearerToken,
  decidingRole,
  type Principal,
  type Role,
  type StaticToken,
} from './auth.js';
export { EscalationEnv, escalationConfigFrom, type EscalationConfig, type JwtSettings } from './config.js';
export {
  checkDecisionRequest,
  checkHaltRequest,
  type DecisionRequest,
  type HaltRequest,
  type Refusal,
} from './decide.js';
export { Decisions, ESCALATION_PRODUCER, type DecisionDeps, type DecisionResult } from './decisions.js';
export { DecisionPublishError, EscalationConfigError, EscalationErrorCodes } from './errors.js';
export { createHandlers, escalationConsumes, type Notifier } from './handlers/index.js';
export {
  ESCALATION_NAME,
  createEscalationService,
  type EscalationService,
  type EscalationServiceOptions,
} from './service.js';
export {
  EscalationStatuses,
  EscalationStore,
  escalationKey,
  type AlertDoc,
  type DecisionRecord,
  type EscalationDoc,
  type EscalationStatus,
  type HaltRecord,
  type Outcome,
} from './store.js';
export { TaskViews, type TaskView } from './task-view.js';
export {
  WebhookHeaders,
  Webhooks,
  verifyWebhook,
  webhookSignature,
  type DeliveryAttempt,
  type DeliveryDoc,
  type WebhookSettings,
} from './webhooks.js';
