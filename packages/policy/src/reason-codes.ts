/**
 * Stable reason codes of guard verdicts. A verdict's reasonCode is one of these or the code of a policy rule.
 * Dashboards and alerts key on them: never rename one, add a new one.
 */
export const GuardReasonCodes = {
  allowed: 'allowed',
  // schema
  unknownTool: 'unknown_tool',
  invalidArgs: 'invalid_args',
  argsHashMismatch: 'args_hash_mismatch',
  emptyAnswer: 'empty_answer',
  answerTooLong: 'answer_too_long',
  invalidOutput: 'invalid_output',
  // scope
  taskMismatch: 'task_mismatch',
  tenantMismatch: 'tenant_mismatch',
  toolOutOfScope: 'tool_out_of_scope',
  resourceOutOfScope: 'resource_out_of_scope',
  invalidResource: 'invalid_resource',
  pathTraversal: 'path_traversal',
  // magnitude
  impactUnknown: 'impact_unknown',
  magnitudePerActionExceeded: 'magnitude_per_action_exceeded',
  magnitudePerTaskExceeded: 'magnitude_per_task_exceeded',
  limitsInvalid: 'limits_invalid',
  guardStateInvalid: 'guard_state_invalid',
  // grounding
  ungroundedLiteral: 'ungrounded_literal',
  ungroundedClaim: 'ungrounded_claim',
  /** A proposal holds personal data sealed under an erased subject's key (ADR 0026): it grounds nothing. */
  sealedValueErased: 'sealed_value_erased',
  // provenance, injection
  untrustedSource: 'untrusted_source',
  untrustedInstructions: 'untrusted_instructions',
  // answers
  answerUnfounded: 'answer_unfounded',
  answerUngroundedLiteral: 'answer_ungrounded_literal',
  unfoundedEffect: 'unfounded_effect',
  // confidence
  lowConfidence: 'low_confidence',
} as const;

/** A built-in reason code. */
export type GuardReasonCode = (typeof GuardReasonCodes)[keyof typeof GuardReasonCodes];

/** Names of the built-in checks, in the order decide() runs them, as recorded in RuleEvaluation.rule. */
export const CheckNames = {
  schema: 'schema',
  scope: 'scope',
  magnitude: 'magnitude',
  grounding: 'grounding',
  provenance: 'provenance',
  injection: 'injection',
  answerEvidence: 'answer_evidence',
  effects: 'effects',
  confidence: 'confidence',
} as const;

/** The name of a built-in check. */
export type CheckName = (typeof CheckNames)[keyof typeof CheckNames];

/** Built-in check names, in order; policy rule ids may not reuse them. */
export const checkOrder: readonly CheckName[] = [
  'schema',
  'scope',
  'magnitude',
  'grounding',
  'provenance',
  'injection',
  'answer_evidence',
  'effects',
  'confidence',
];
