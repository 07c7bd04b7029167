export { answerHash, canonicalHashOfParsed, canonicalJson, canonicalHash, sha256Hex } from './canonical.js';
export { follow, newTask, type ChainLink, type EventDraft, type NewTaskOptions, type ProducerMeta } from './chain.js';
export { MemoryBlobStore, MongoBlobStore, fetchVerified, type BlobPointer, type BlobStore } from './claim-check.js';
export {
  DEFAULT_CLAIM_CHECK_THRESHOLD_BYTES,
  EventCodec,
  registerJsonSchema,
  type DecodedEvent,
  type EncodedEvent,
  type EventCodecOptions,
} from './codec.js';
export {
  Actor,
  BlobRef,
  Budgets,
  ChatMessage,
  Claim,
  Confidence,
  Identifier,
  Impact,
  JsonObject,
  JsonValue,
  MagnitudeLimits,
  ResourceKinds,
  RiskSettings,
  RuleEvaluation,
  RuleMode,
  RuleOutcome,
  Scope,
  Sha256Hex,
  TokenUsage,
  VerdictRecord,
  limit,
} from './common-schemas.js';
export {
  Envelope,
  eventSchemas,
  isBlobRef,
  wireEventSchemas,
  type EventOf,
  type WardenEvent,
  type WireEnvelope,
} from './envelope.js';
export {
  BlobCorruptError,
  BlobMissingError,
  CanonicalFormError,
  ContractsErrorCodes,
  EventValidationError,
  MalformedEventError,
  RegistryUnavailableError,
  SchemaIncompatibleError,
  UnknownEventTypeError,
  WardenError,
  isWardenError,
  type ValidationIssue,
  type WardenErrorOptions,
} from './errors.js';
export {
  eventDataSchemas,
  eventTypes,
  isEventType,
  outOfChainEventTypes,
  terminalEventTypes,
  type EventData,
  type EventDataInput,
  type EventType,
} from './events.js';
export {
  allJsonSchemas,
  envelopeJsonSchema,
  eventJsonSchema,
  schemaFileText,
  type JsonSchemaDocument,
} from './json-schema.js';
export {
  Redactor,
  defaultSecretKeys,
  defaultSecretPatterns,
  type Redacted,
  type RedactorOptions,
  type SecretPattern,
} from './redact.js';
export { ChainBreakKinds, verifyChain, type ChainBreak, type ChainBreakKind, type ChainVerdict } from './verify.js';
export { canonicalVectors, chainVector, type CanonicalVector, type ChainVector } from './test-vectors.js';
export { isExactEvent, issuesOf, validateEvent, validateWireEnvelope } from './validate.js';
export { createRegistryClient } from './registry.js';
export {
  DecisionBindingFailures,
  authenticateDecision,
  checkDecisionBinding,
  decisionSigningPayload,
  heldEscalationOf,
  signDecision,
  verifyDecision,
  type DecisionAuthentication,
  type DecisionBinding,
  type DecisionBindingFailure,
  type DecisionTrust,
  type DecisionType,
  type HeldEscalation,
} from './decision-signature.js';
export {
  EventSignature,
  generateSigningKeyPair,
  parseSigningKey,
  parseVerifyingKeys,
  signEvent,
  signingPayload,
  verifyingKeyOf,
  verifySignature,
  type SignatureCheck,
  type SigningKey,
  type VerifyingKey,
} from './event-signature.js';
