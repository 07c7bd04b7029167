import { sha256Hex, type RuleEvaluation } from '@warden/contracts';
import { assessConfidence, checkConfidence, type ConfidenceAssessment } from './confidence.js';
import { GuardInputError } from './errors.js';
import { fastCanonicalJson } from './fast-canonical.js';
import { truncate } from './format.js';
import { checkGrounding } from './grounding.js';
import { addImpact, checkMagnitude, impactProblem } from './magnitude.js';
import { evaluateRule } from './policy.js';
import { CheckNames, GuardReasonCodes } from './reason-codes.js';
import { checkSchema } from './schema.js';
import { checkScope } from './scope.js';
import type {
  CheckContext,
  CheckResult,
  GuardState,
  GuardWarning,
  Policy,
  Proposal,
  RuleInput,
  RuleMode,
  Verdict,
} from './types.js';

function canonicalOf(what: string, value: unknown, known?: ReadonlyMap<object, string>): string {
  try {
    return fastCanonicalJson(value, known);
  } catch (error) {
    throw new GuardInputError(`the ${what} has no canonical JSON form`, { cause: error });
  }
}

function argsCanonical(proposal: Proposal): string | null {
  if (proposal.kind === 'answer') return null;
  try {
    return fastCanonicalJson(proposal.args);
  } catch {
    return null; // the schema check denies such args as invalid_args
  }
}

/**
 * Derives what every check needs once: the proposal's tool in the policy and the guard's own args hash
 * (canonicalHash(args), computed here unless the caller passes it).
 */
export function buildCheckContext(
  state: GuardState,
  proposal: Proposal,
  policy: Policy,
  computedArgsHash: string | null = proposal.kind === 'action' ? hashOrNull(argsCanonical(proposal)) : null,
): CheckContext {
  const tool = proposal.kind === 'action' ? policy.tools.get(proposal.tool) : undefined;
  return { state, proposal, policy, tool, computedArgsHash };
}

function hashOrNull(json: string | null): string | null {
  return json === null ? null : sha256Hex(json);
}

function ruleInput(ctx: CheckContext, confidence: ConfidenceAssessment): RuleInput {
  const { proposal, tool, state } = ctx;
  const impact =
    proposal.kind === 'action' && state.impact !== null && impactProblem(state.impact) === null ? state.impact : null;
  return {
    kind: proposal.kind,
    tool: proposal.kind === 'action' ? proposal.tool : null,
    tier: confidence.tier,
    destructive: tool?.destructive ?? false,
    args: proposal.kind === 'action' ? proposal.args : null,
    impact,
    cumulativeImpact: impact === null ? null : addImpact(state.approvedImpact, impact),
    answer: proposal.kind === 'answer' ? proposal.answer : null,
    calibratedConfidence: confidence.calibrated,
    claimsCount: proposal.claims.length,
  };
}

interface Step {
  readonly rule: string;
  readonly mode: RuleMode;
  readonly run: () => CheckResult;
}

interface Fired {
  readonly rule: string;
  readonly code: string;
  readonly detail: string;
}

/**
 * The guard's verdict on one proposal: a pure, deterministic function of the task state, the proposal and the
 * policy (no clock, no randomness, no I/O). Runs schema, scope, magnitude, grounding, confidence, then the
 * policy's rules in file order, and records every one of them in rulesEvaluated.
 *
 * - An enforce-mode deny ends the evaluation: what follows is recorded as "skip". Deny wins over escalate.
 * - An enforce-mode escalate is remembered and evaluation goes on, so that a later deny still denies.
 * - A warn-mode rule that would block is recorded and listed in `warnings`; it blocks nothing.
 * - A log_only rule that would block is recorded with mode log_only; it blocks nothing and warns nobody.
 *
 * The verdict names the rule that fired (the first deny, else the first escalate), the policy version and the
 * canonical hashes of its three inputs. Throws a GuardInputError only when an input has no canonical JSON form.
 */
export function decide(state: GuardState, proposal: Proposal, policy: Policy): Verdict {
  const argsJson = argsCanonical(proposal);
  const known =
    argsJson !== null && proposal.kind === 'action' ? new Map<object, string>([[proposal.args, argsJson]]) : undefined;
  const inputHashes = {
    proposal: sha256Hex(canonicalOf('proposal', proposal, known)),
    state: sha256Hex(canonicalOf('state', state)),
    policy: policy.hash,
  };
  const ctx = buildCheckContext(state, proposal, policy, hashOrNull(argsJson));
  let confidence: ConfidenceAssessment | undefined;
  const assess = (): ConfidenceAssessment => (confidence ??= assessConfidence(ctx));
  let input: RuleInput | undefined;
  const steps: Step[] = [
    { rule: CheckNames.schema, mode: 'enforce', run: () => checkSchema(ctx) },
    { rule: CheckNames.scope, mode: 'enforce', run: () => checkScope(ctx) },
    { rule: CheckNames.magnitude, mode: 'enforce', run: () => checkMagnitude(ctx) },
    { rule: CheckNames.grounding, mode: policy.checkModes.grounding, run: () => checkGrounding(ctx) },
    { rule: CheckNames.confidence, mode: policy.checkModes.confidence, run: () => checkConfidence(ctx, assess()) },
    ...policy.rules.map((rule): Step => ({
      rule: rule.id,
      mode: rule.mode,
      run: () => evaluateRule(rule, (input ??= ruleInput(ctx, assess()))),
    })),
  ];

  const rulesEvaluated: RuleEvaluation[] = [];
  const warnings: GuardWarning[] = [];
  let denied: Fired | undefined;
  let escalated: Fired | undefined;
  for (const step of steps) {
    if (denied) {
      rulesEvaluated.push({
        rule: step.rule,
        mode: step.mode,
        outcome: 'skip',
        detail: `not evaluated: denied by ${denied.rule}`,
      });
      continue;
    }
    const result = step.run();
    const evaluation: RuleEvaluation = { rule: step.rule, mode: step.mode, outcome: result.outcome };
    if (result.code !== undefined) evaluation.code = result.code;
    if (result.detail !== undefined) evaluation.detail = truncate(result.detail);
    rulesEvaluated.push(evaluation);
    if (result.outcome !== 'deny' && result.outcome !== 'escalate') continue;
    const fired: Fired = { rule: step.rule, code: result.code ?? step.rule, detail: result.detail ?? '' };
    if (step.mode === 'warn') {
      warnings.push({ rule: fired.rule, wouldBe: result.outcome, code: fired.code, detail: fired.detail });
    } else if (step.mode === 'enforce') {
      if (result.outcome === 'deny') denied = fired;
      else escalated ??= fired;
    }
  }

  const fired = denied ?? escalated;
  const outcome = denied ? 'deny' : escalated ? 'escalate' : 'allow';
  const argsHash =
    proposal.kind === 'action'
      ? proposal.argsHash
      : sha256Hex(canonicalOf('answer', { answer: proposal.answer, output: proposal.output ?? null }));
  const message = fired
    ? truncate(`${fired.rule}: ${fired.code}${fired.detail ? ` (${fired.detail})` : ''}`, 4_000)
    : `allowed by policy ${policy.version}${warnings.length > 0 ? ` with ${warnings.length} warning(s)` : ''}`;
  const verdict: Verdict = {
    outcome,
    reasonCode: fired?.code ?? GuardReasonCodes.allowed,
    ruleFired: fired?.rule ?? null,
    message,
    rulesEvaluated,
    warnings,
    policyVersion: policy.version,
    inputHashes,
    argsHash,
    ...(proposal.kind === 'action' && state.impact !== null ? { impact: state.impact } : {}),
    ...(confidence
      ? {
          confidence: {
            raw: confidence.raw,
            calibrated: confidence.calibrated,
            threshold: confidence.threshold,
            calibrationVersion: confidence.calibrationVersion,
          },
        }
      : {}),
  };
  return verdict;
}
