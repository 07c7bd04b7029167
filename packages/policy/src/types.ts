import type { z } from 'zod';
import type {
  Claim,
  Confidence,
  EventData,
  Impact,
  JsonObject,
  JsonValue,
  RuleEvaluation,
  RuleMode as RuleModeSchema,
} from '@warden/contracts';
import type { ArgPath } from './paths.js';

/** How a rule or check is enforced: log_only records, warn records and alerts, enforce blocks. */
export type RuleMode = z.infer<typeof RuleModeSchema>;

import type { ResourceKind, RiskTier, ToolSpec } from '@warden/tools';
/** Risk tiers, lowest first, and a tool's tier (from its definition in @warden/tools): it picks its threshold. */
export {
  ResourceKindNames,
  RiskTiers,
  type ResourceKind,
  type RiskTier,
  type ToolRegistry,
  type ToolSpec,
} from '@warden/tools';

/** The data of a TaskSubmitted event, as parsed (scope resources defaulted). */
export type TaskData = EventData<'TaskSubmitted'>;

/** A tool as the compiled policy sees it: the code's spec (risk tier included) plus the policy's floor and parsed paths. */
export interface PolicyTool extends ToolSpec {
  /** An optional per-tool confidence floor, from the policy file. */
  readonly minConfidence: number | undefined;
  /** Parsed resource paths. */
  readonly resourcePaths: readonly { readonly kind: ResourceKind; readonly path: ArgPath }[];
  /** Parsed critical-field paths. */
  readonly criticalPaths: readonly ArgPath[];
}

/** A versioned piecewise-linear (isotonic) map from raw to calibrated confidence. */
export interface CalibrationMap {
  /** Version of the map, recorded with each verdict's confidence detail. */
  readonly version: string;
  /** [raw, calibrated] points, raw strictly increasing from 0 to 1, calibrated non-decreasing. */
  readonly points: readonly (readonly [number, number])[];
}

/** Confidence settings of a policy. */
export interface ConfidencePolicy {
  /** The map applied to every raw confidence (unless a more specific map below applies). */
  readonly calibration: CalibrationMap;
  /** Maps fitted for one risk tier, from a published calibration (ADR 0025); they win over `calibration`. */
  readonly calibrationByTier?: Readonly<Partial<Record<RiskTier, CalibrationMap>>>;
  /** Maps fitted for one tool, from a published calibration; they win over the tier's and the overall map. */
  readonly calibrationByTool?: ReadonlyMap<string, CalibrationMap>;
  /** Minimum calibrated confidence per risk tier. */
  readonly thresholds: Readonly<Record<RiskTier, number>>;
  /** A higher threshold when the impact is large relative to the task's per-action limits. */
  readonly largeMagnitude: { readonly fractionOfActionLimit: number; readonly threshold: number } | undefined;
}

/** Which built-in checks a policy may run in a softer mode while they are tuned. */
export interface CheckModes {
  /** Mode of the grounding check. */
  readonly grounding: RuleMode;
  /** Mode of the provenance check (critical fields supported only by untrusted content). Default enforce. */
  readonly provenance: RuleMode;
  /** Mode of the injection check (instruction-like text in untrusted content). Default warn. */
  readonly injection: RuleMode;
  /** Mode of the answer-evidence check (answers cite evidence; their literals are found in it). Default enforce. */
  readonly answerEvidence: RuleMode;
  /** Mode of the effects check (an answer asserts no effect that did not succeed). Default enforce. */
  readonly effects: RuleMode;
  /** Mode of the confidence check. */
  readonly confidence: RuleMode;
}

/** Which answers must cite evidence: always, never, or when the task's scope has a lookup (non-destructive) tool. */
export type AnswerEvidenceRule = 'always' | 'never' | 'when_lookup_in_scope';

/** What a policy rule sees. Only the proposal and the guard's own numbers: never tool results or task text. */
export interface RuleInput {
  /** Action or final answer. */
  readonly kind: 'action' | 'answer';
  /** The tool, or null for an answer. */
  readonly tool: string | null;
  /** The risk tier of the tool (or of answers). */
  readonly tier: RiskTier;
  /** Whether the tool is destructive (false for answers). */
  readonly destructive: boolean;
  /** The proposed arguments, or null for an answer. */
  readonly args: JsonObject | null;
  /** The resources the action touches, normalised as the scope check sees them (hosts from URLs, lower case). */
  readonly resources: Readonly<Record<ResourceKind, readonly string[]>>;
  /** This action's impact estimate, or null when there is none. */
  readonly impact: Impact | null;
  /** Approved impact so far plus this action's, or null when this action's is unknown. */
  readonly cumulativeImpact: Impact | null;
  /** The answer text, or null for an action. */
  readonly answer: string | null;
  /** The calibrated confidence. */
  readonly calibratedConfidence: number;
  /** How many claims the proposal rests on. */
  readonly claimsCount: number;
}

/** A policy rule, compiled: its condition is a pure predicate. */
export interface CompiledRule {
  /** Unique id, recorded as RuleEvaluation.rule. */
  readonly id: string;
  /** Why the rule exists. */
  readonly description: string;
  /** log_only records only; warn records and raises a warning; enforce blocks. */
  readonly mode: RuleMode;
  /** What the rule does when its condition holds. */
  readonly effect: 'deny' | 'escalate';
  /** Reason code when it fires. */
  readonly code: string;
  /** The compiled condition. */
  readonly matches: (input: RuleInput) => boolean;
}

/** A loaded, validated, compiled policy. Built by loadPolicy; treat as immutable. */
export interface Policy {
  /** The policy version, recorded with every verdict. */
  readonly version: string;
  /** sha256 of the canonical policy document plus the tool definitions it relies on. */
  readonly hash: string;
  /** The tools this policy allows anyone to use, by name. */
  readonly tools: ReadonlyMap<string, PolicyTool>;
  /** Settings of final answers. */
  readonly answer: {
    readonly riskTier: RiskTier;
    readonly maxChars: number | undefined;
    readonly outputSchema: z.ZodType | undefined;
    /** Which answers must cite evidence (default when_lookup_in_scope). */
    readonly requireEvidence: AnswerEvidenceRule;
    /** Per tool, how an answer asserting that tool's effect reads (case-insensitive patterns). */
    readonly effectClaims: ReadonlyMap<string, RegExp>;
  };
  /** Modes of the built-in checks that may be softened. */
  readonly checkModes: CheckModes;
  /** Confidence calibration and thresholds. */
  readonly confidence: ConfidencePolicy;
  /** Policy rules, in file order. */
  readonly rules: readonly CompiledRule[];
}

/** An earlier tool result of this task, as the guard saw it. */
export interface ToolResultRecord {
  /** The action that produced it. */
  readonly actionId: string;
  /** The tool that produced it. */
  readonly tool: string;
  /** The validated result. */
  readonly result: JsonValue;
}

/** A fact confirmed by the retrieval tool against the ground-truth store. */
export interface RetrievalFact {
  /** The fact's source id in the store. */
  readonly sourceId: string;
  /** The fact as text. */
  readonly text?: string;
  /** The fact as a JSON value. */
  readonly value?: JsonValue;
}

/** Everything decide() knows about the task, all of it built by the guard's handler from the task's events. */
export interface GuardState {
  /** The task. */
  readonly taskId: string;
  /** The task's tenant (from the TaskSubmitted envelope). */
  readonly tenantId: string;
  /** The TaskSubmitted data: the only source of scope, limits and risk settings. */
  readonly task: TaskData;
  /** What the guard itself approved so far in this task. */
  readonly approvedImpact: Impact;
  /** Earlier tool results of this task. */
  readonly toolResults: readonly ToolResultRecord[];
  /** Facts confirmed by retrieval. */
  readonly facts: readonly RetrievalFact[];
  /** This proposal's impact, estimated by the tool's dry run before decide; null when there is none. */
  readonly impact: Impact | null;
}

/** Fields every proposal carries. */
interface ProposalBase {
  /** The task it belongs to (from the envelope). */
  readonly taskId: string;
  /** The tenant it claims (from the envelope). */
  readonly tenantId: string;
  /** Id of the proposed action or answer. */
  readonly actionId: string;
  /** The planner's confidence. Only `value` is used; the guard calibrates it itself. */
  readonly confidence: Confidence;
  /** Claims the proposal rests on, with evidence. */
  readonly claims: readonly Claim[];
}

/** A proposed tool call. */
export interface ActionProposal extends ProposalBase {
  /** Discriminant. */
  readonly kind: 'action';
  /** Tool name. */
  readonly tool: string;
  /** Arguments, exactly as the executor will run them. */
  readonly args: JsonObject;
  /** canonicalHash(args), as the planner computed it. */
  readonly argsHash: string;
}

/** A proposed final answer. */
export interface AnswerProposal extends ProposalBase {
  /** Discriminant. */
  readonly kind: 'answer';
  /** The answer text. */
  readonly answer: string;
  /** Structured output, when the task asked for one. */
  readonly output?: JsonValue;
}

/** What the planner proposes. */
export type Proposal = ActionProposal | AnswerProposal;

/** The result of one check. */
export interface CheckResult {
  /** allow, deny, escalate, or skip when the check does not apply. */
  readonly outcome: 'allow' | 'deny' | 'escalate' | 'skip';
  /** Reason code when it does not allow. */
  readonly code?: string;
  /** What was found, naming the offending field. */
  readonly detail?: string;
}

/** A warn-mode rule (or check) that would have blocked: the handler raises AlertRaised policy_warn. */
export interface GuardWarning {
  /** The rule. */
  readonly rule: string;
  /** What it would have done. */
  readonly wouldBe: 'deny' | 'escalate';
  /** Its reason code. */
  readonly code: string;
  /** What it found. */
  readonly detail: string;
}

/** The confidence figures behind a verdict. */
export interface ConfidenceFigures {
  /** The planner's raw confidence. */
  readonly raw: number;
  /** After the policy's calibration map. */
  readonly calibrated: number;
  /** The threshold that applied. */
  readonly threshold: number;
  /** The calibration map's version. */
  readonly calibrationVersion: string;
  /** The risk tier whose threshold (and, when a published calibration has one, map) applied. */
  readonly tier: RiskTier;
}

/** The guard's verdict on one proposal. */
export interface Verdict {
  /** allow, deny or escalate. */
  readonly outcome: 'allow' | 'deny' | 'escalate';
  /** "allowed", or the code of the rule that fired. */
  readonly reasonCode: string;
  /** The rule that fired, or null when allowed. */
  readonly ruleFired: string | null;
  /** One sentence for people (ActionRejected.message, EscalationRequested.reason). */
  readonly message: string;
  /** Every check and rule, in evaluation order. */
  readonly rulesEvaluated: RuleEvaluation[];
  /** warn-mode rules that matched. */
  readonly warnings: GuardWarning[];
  /** The policy version. */
  readonly policyVersion: string;
  /** Hashes of the three inputs. */
  readonly inputHashes: { readonly proposal: string; readonly state: string; readonly policy: string };
  /** The hash a decision binds to: the verified args hash, or canonicalHash({answer, output}) for an answer. */
  readonly argsHash: string;
  /** The impact estimate the verdict was made on, when there was one. */
  readonly impact?: Impact;
  /** The confidence figures, when the confidence check ran. */
  readonly confidence?: ConfidenceFigures;
}

/** What every check reads: the inputs of decide() plus what decide() derived from them once. */
export interface CheckContext {
  /** The guard's view of the task. */
  readonly state: GuardState;
  /** The proposal under judgement. */
  readonly proposal: Proposal;
  /** The policy in force. */
  readonly policy: Policy;
  /** The proposal's tool in the policy; undefined for an answer or an unknown tool. */
  readonly tool: PolicyTool | undefined;
  /** canonicalHash(args) as the guard computed it; null for an answer or args with no canonical form. */
  readonly computedArgsHash: string | null;
}
