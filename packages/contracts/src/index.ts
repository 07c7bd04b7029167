export { answerHash, canonicalHash, canonicalHashOfParsed, canonicalJson, deepFreeze, sha256Hex } from './canonical.js';
export { follow, newTask, type ChainLink, type EventDraft, type NewTaskOptions, type ProducerMeta } from './chain.js';
export { MemoryBlobStore, MongoBlobStore, fetchVerified, type BlobPointer, type BlobStore } from './claim-check.js';
export {
  DEFAULT_CLAIM_CHECK_THRESHOLD_BYTES,
  EventCodec,
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
  DECISION_KEY_ID_PATTERN,
  EVIDENCE_KINDS,
  IDENTIFIER_PATTERN,
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
  isIdentifier,
  limit,
  noImpact,
} from './common-schemas.js';
export {
  AnswerEnvelope,
  MIN_LOGPROB_CONFIDENCE,
  ProtocolClaim,
  ProtocolEvidence,
  ToolTurnEnvelope,
  confidenceToLogprob,
  decodeAnswerContent,
  decodeToolTurnContent,
  encodeAnswerContent,
  encodeToolTurnContent,
  logprobsToConfidence,
  toContractClaims,
  type DecodedEnvelope,
} from './confidence-protocol.js';
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
  CLIP_MARKER,
  MAX_ANSWER_CHARS,
  MAX_CLAIMS_PER_PROPOSAL,
  MAX_CLAIM_TEXT_CHARS,
  MAX_EFFECT_KEY_CHARS,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_EVIDENCE_PER_CLAIM,
  MAX_EVIDENCE_REF_CHARS,
  MAX_GOAL_CHARS,
  MAX_ID_CHARS,
  MAX_LABEL_CHARS,
  MAX_MESSAGE_CHARS,
  MAX_NAME_PATTERN_CHARS,
  MAX_NOTE_CHARS,
  MAX_OFFSET_CHARS,
  MAX_PATH_PATTERN_CHARS,
  MAX_PREV_HASHES,
  MAX_REASONING_CHARS,
  MAX_RECIPIENT_PATTERN_CHARS,
  MAX_SCOPE_PATTERNS_PER_KIND,
  MAX_SCOPE_TOOLS,
  MAX_STACK_CHARS,
  MAX_TOPIC_CHARS,
  clipText,
} from './limits.js';
export { MONGO_DUPLICATE_KEY_CODE, isDuplicateKeyError } from './mongo-errors.js';
export {
  Redactor,
  defaultSecretKeys,
  defaultSecretPatterns,
  type Redacted,
  type RedactorOptions,
  type SecretPattern,
} from './redact.js';
export { ChainBreakKinds, verifyChain, type ChainBreak, type ChainBreakKind, type ChainVerdict } from './verify.js';
export { TaskChain, type ChainState, type ChainStatus } from './task-chain.js';
export { canonicalVectors, chainVector, type CanonicalVector, type ChainVector } from './test-vectors.js';
export { isExactEvent, issuesOf, validateEvent, validateWireEnvelope } from './validate.js';
export { RegistryClient, createRegistryClient, typeConstOf, type SchemaRegistryApi } from './registry.js';
export {
  checkDecisionSignature,
  decisionSigningPayload,
  parseDecisionKeys,
  signDecision,
  type DecisionCheck,
  type DecisionKey,
  type DecisionType,
} from './decision-signature.js';
