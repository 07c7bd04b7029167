import { canonicalJson, sha256Hex, type RuleEvaluation } from '@warden/contracts';
import { assessConfidence, checkConfidence, type ConfidenceAssessment } from './confidence.js';
import { GuardInputError } from './errors.js';
import { truncate } from './format.js';
import { checkGrounding } from './grounding.js';
import { checkAnswerEvidence, checkEffects } from './answers.js';
import { checkInjection, checkProvenance } from './provenance.js';
import { addImpact, checkMagnitude, impactProblem } from './magnitude.js';
import { evaluateRule } from './policy.js';
import { GuardReasonCodes, checkOrder, type CheckName } from './reason-codes.js';
import { checkSchema } from './schema.js';
import { checkScope, resourcesOf } from './scope.js';
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
    return canonicalJson(value, known);
  } catch (error) {
    throw new GuardInputError(`the ${what} has no canonical JSON form`, { cause: error });
  }
}

function argsCanonical(proposal: Proposal): string | null {
  if (proposal.kind === 'answer') return null;
  try {
    return canonicalJson(proposal.args);
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
    resources: resourcesOf(tool, proposal.kind === 'action' ? proposal.args : null),
    impact,
    cumulativeImpact: impact === null ? null : addImpact(state.approvedImpact, impact),
    answer: proposal.kind === 'answer' ? proposal.answer : null,
    calibratedConfidence: confidence.calibrated,
    claimsCount: proposal.claims.length,
  };
}

interface Fired {
  readonly rule: string;
  readonly code: string;
  readonly detail: string;
}

/** Records evaluations in order and applies modes: what blocks, what warns, what is only logged. */
class Evaluation {
  readonly rulesEvaluated: RuleEvaluation[] = [];
  readonly warnings: GuardWarning[] = [];
  denied: Fired | undefined;
  escalated: Fired | undefined;

  skip(rule: string, mode: RuleMode): void {
    this.rulesEvaluated.push({
      rule,
      mode,
      outcome: 'skip',
      detail: `not evaluated: denied by ${this.denied?.rule ?? ''}`,
    });
  }

  record(rule: string, mode: RuleMode, result: CheckResult): void {
    const evaluation: RuleEvaluation = { rule, mode, outcome: result.outcome };
    if (result.code !== undefined) evaluation.code = result.code;
    if (result.detail !== undefined) evaluation.detail = truncate(result.detail);
    this.rulesEvaluated.push(evaluation);
    if (result.outcome !== 'deny' && result.outcome !== 'escalate') return;
    const fired: Fired = { rule, code: result.code ?? rule, detail: result.detail ?? '' };
    if (mode === 'warn') {
      this.warnings.push({ rule, wouldBe: result.outcome, code: fired.code, detail: fired.detail });
    } else if (mode === 'enforce') {
      if (result.outcome === 'deny') this.denied = fired;
      else this.escalated ??= fired;
    }
  }
}

function runCheck(name: CheckName, ctx: CheckContext, confidence: () => ConfidenceAssessment): CheckResult {
  switch (name) {
    case 'schema':
      return checkSchema(ctx);
    case 'scope':
      return checkScope(ctx);
    case 'magnitude':
      return checkMagnitude(ctx);
    case 'grounding':
      return checkGrounding(ctx);
    case 'provenance':
      return checkProvenance(ctx);
    case 'injection':
      return checkInjection(ctx);
    case 'answer_evidence':
      return checkAnswerEvidence(ctx);
    case 'effects':
      return checkEffects(ctx);
    case 'confidence':
      return checkConfidence(ctx, confidence());
    default: {
      const unreachable: never = name;
      throw new GuardInputError(`unknown check ${String(unreachable)}`);
    }
  }
}

function modeOf(name: CheckName, policy: Policy): RuleMode {
  const m = policy.checkModes;
  switch (name) {
    case 'grounding':
      return m.grounding;
    case 'provenance':
      return m.provenance;
    case 'injection':
      return m.injection;
    case 'answer_evidence':
      return m.answerEvidence;
    case 'effects':
      return m.effects;
    case 'confidence':
      return m.confidence;
    default:
      return 'enforce';
  }
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
 * canonical hashes of its three inputs (canonicalHash from @warden/contracts).
 * Inputs are read, never changed; task data, tool results and facts that the caller keeps deeply frozen (see
 * deepFreeze) are serialised once and remembered. Throws a GuardInputError only when an input has no canonical
 * JSON form.
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

  const evaluation = new Evaluation();
  for (const name of checkOrder) {
    const mode = modeOf(name, policy);
    if (evaluation.denied) evaluation.skip(name, mode);
    else evaluation.record(name, mode, runCheck(name, ctx, assess));
  }
  let input: RuleInput | undefined;
  for (const rule of policy.rules) {
    if (evaluation.denied) {
      evaluation.skip(rule.id, rule.mode);
      continue;
    }
    input ??= ruleInput(ctx, assess());
    evaluation.record(rule.id, rule.mode, evaluateRule(rule, input));
  }
  const { rulesEvaluated, warnings, denied, escalated } = evaluation;

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
            tier: confidence.tier,
          },
        }
      : {}),
  };
  return verdict;
}
