/**
 * @warden/guard-service: the guard's pure core. decide(state, proposal, policy) judges one proposal with no I/O;
 * loadPolicy validates and compiles a policy file; validateToolOutput and validateTaskLimits guard the edges.
 */
export { decide, buildCheckContext } from './decide/decide.js';
export { checkSchema, validateToolOutput, type OutputValidation } from './decide/schema.js';
export {
  checkScope,
  normaliseHost,
  normalisePath,
  normaliseRecipient,
  normaliseResource,
  type NormalisedResource,
} from './decide/scope.js';
export { addImpact, checkMagnitude, impactDimensions, impactProblem, isLargeImpact } from './decide/magnitude.js';
export { checkGrounding, claimProblem, groundingCorpus } from './decide/grounding.js';
export {
  buildCorpus,
  corpusHas,
  extractNumbers,
  normaliseText,
  salientLiterals,
  type Corpus,
} from './decide/corpus.js';
export { assessConfidence, calibrate, checkConfidence, type ConfidenceAssessment } from './decide/confidence.js';
export {
  ConditionSchema,
  PatternSchema,
  RuleSchema,
  compileCondition,
  compileRule,
  evaluateRule,
  type ConditionDoc,
  type ImpactFiguresDoc,
  type PatternDoc,
  type RuleDoc,
} from './decide/policy.js';
export { PolicyDocument, loadPolicy, type LoadPolicyOptions } from './decide/load-policy.js';
export {
  capLimits,
  validateTaskLimits,
  type LoweredLimit,
  type TaskLimitsValidation,
  type TenantCaps,
} from './decide/limits.js';
export { proposalFromEvent } from './decide/proposal.js';
export { deepFreeze, fastCanonicalHash, fastCanonicalJson } from './decide/fast-canonical.js';
export { ToolDefinitionError, createToolRegistry, defineTool } from '@warden/tools';
export { parseArgPath, resolvePointer, valuesAt, type ArgPath, type Located } from './decide/paths.js';
export {
  CheckNames,
  GuardReasonCodes,
  checkOrder,
  type CheckName,
  type GuardReasonCode,
} from './decide/reason-codes.js';
export {
  GuardError,
  GuardErrorCodes,
  GuardInputError,
  PolicyInvalidError,
  TaskLimitsInvalidError,
  type GuardErrorCode,
} from './decide/errors.js';
export {
  ResourceKindNames,
  RiskTiers,
  type ActionProposal,
  type AnswerProposal,
  type CalibrationMap,
  type CheckContext,
  type CheckModes,
  type CheckResult,
  type CompiledRule,
  type ConfidenceFigures,
  type ConfidencePolicy,
  type GuardState,
  type GuardWarning,
  type Policy,
  type PolicyTool,
  type Proposal,
  type ResourceKind,
  type RetrievalFact,
  type RiskTier,
  type RuleInput,
  type RuleMode,
  type TaskData,
  type ToolRegistry,
  type ToolResultRecord,
  type ToolSpec,
  type Verdict,
} from './decide/types.js';
export {
  GuardEnv,
  DEFAULT_POLICY_FILE,
  TenantCapsSetting,
  capsLookup,
  loadGuardConfig,
  type GuardConfig,
} from './config.js';
export { createHandlers, guardConsumes, type GuardHandlerDeps } from './handlers/index.js';
export { argsImpactEstimator, storeImpactEstimator, type ImpactEstimator } from './impact.js';
export { GuardTaskStore, factsFromResult } from './task-store.js';
export { createGuardWorker, type GuardWorkerOptions } from './worker.js';
