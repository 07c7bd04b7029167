/**
 * @warden/policy: the guard's pure core. decide(state, proposal, policy) judges one proposal with no I/O; loadPolicy
 * validates and compiles a policy file; evolve folds a task's events into the guard's view of it; validateToolOutput
 * and validateTaskLimits guard the edges. The guard service and the auditor's backtest both use it, so they judge
 * alike.
 */
export { decide, buildCheckContext } from './decide.js';
export { checkSchema, validateToolOutput, type OutputValidation } from './schema.js';
export {
  checkScope,
  normaliseHost,
  normalisePath,
  normaliseRecipient,
  normaliseResource,
  resourcePathsOf,
  resourcesOutOfScope,
  type NormalisedResource,
  type ResourcePaths,
} from './scope.js';
export { addImpact, checkMagnitude, impactDimensions, impactProblem, isLargeImpact } from './magnitude.js';
export { checkGrounding, claimProblem, groundingCorpus } from './grounding.js';
export { buildCorpus, corpusHas, extractNumbers, normaliseText, salientLiterals, type Corpus } from './corpus.js';
export { assessConfidence, calibrate, checkConfidence, type ConfidenceAssessment } from './confidence.js';
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
} from './policy.js';
export { PolicyDocument, loadPolicy, type LoadPolicyOptions } from './load-policy.js';
export { CalibrationDocument, applyCalibration, calibrationMapVersion, parseCalibration } from './calibration-input.js';
export {
  capLimits,
  validateTaskLimits,
  type LoweredLimit,
  type TaskLimitsValidation,
  type TenantCaps,
} from './limits.js';
export { proposalFromEvent } from './proposal.js';
export { openProposal, sealVerdictTexts, sealedOpener, verdictOnSealed, type SealedOpener } from './sealed.js';
export { parseArgPath, resolvePointer, valuesAt, type ArgPath, type Located } from './paths.js';
export { CheckNames, GuardReasonCodes, checkOrder, type CheckName, type GuardReasonCode } from './reason-codes.js';
export {
  GuardError,
  GuardErrorCodes,
  GuardInputError,
  PolicyInvalidError,
  TaskLimitsInvalidError,
  type GuardErrorCode,
} from './errors.js';
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
} from './types.js';
export { DEFAULT_POLICY_FILE } from './default-policy.js';
export { factsFromResult } from './facts.js';
export { argsImpactEstimator, toolImpactEstimator, type ImpactEstimator } from './impact.js';
export {
  approvedImpact,
  evolve,
  guardStateOf,
  initialTaskView,
  type ApprovedAction,
  type TaskView,
  type TaskViewEvent,
} from './task-view.js';
