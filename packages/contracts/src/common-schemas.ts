import { z } from 'zod';
import {
  MAX_CLAIM_TEXT_CHARS,
  MAX_EVIDENCE_PER_CLAIM,
  MAX_EVIDENCE_REF_CHARS,
  MAX_ID_CHARS,
  MAX_LABEL_CHARS,
  MAX_NAME_PATTERN_CHARS,
  MAX_NOTE_CHARS,
  MAX_PATH_PATTERN_CHARS,
  MAX_RECIPIENT_PATTERN_CHARS,
  MAX_SCOPE_PATTERNS_PER_KIND,
  MAX_SCOPE_TOOLS,
} from './limits.js';

/** A sha256 digest in lower-case hex. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha256');

/** The characters of an identifier: a letter or digit, then letters, digits and . _ : @ / - (length apart). */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/;

/**
 * A decision key's id: in WARDEN_DECISION_PUBLIC_KEYS (`keyId:base64spki`) and in a signed decision's `signature.keyId`.
 */
export const DECISION_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** A short, non-empty identifier (task ids, tenant ids, tool names). */
export const Identifier = z
  .string()
  .min(1)
  .max(MAX_ID_CHARS)
  .regex(IDENTIFIER_PATTERN, 'expected letters, digits and . _ : @ / -');

/**
 * True when `value` is a valid {@link Identifier} (1 to MAX_ID_CHARS characters of IDENTIFIER_PATTERN): for code that
 * must check a name without a schema, e.g. before putting an untrusted id into a log line or a metric label.
 */
export function isIdentifier(value: string): boolean {
  return value.length >= 1 && value.length <= MAX_ID_CHARS && IDENTIFIER_PATTERN.test(value);
}

/** Any JSON value (objects, arrays, strings, finite numbers, booleans, null). */
export const JsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValue), z.record(z.string(), JsonValue)]),
);
/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export const JsonObject = z.record(z.string(), JsonValue);
/** A JSON object. */
export type JsonObject = z.infer<typeof JsonObject>;

/** Token counts of one model call or a running total. */
export const TokenUsage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/** Where a confidence figure came from. */
export const ConfidenceSource = z.enum(['structured', 'logprobs', 'combined', 'default']);

/** A proposal's confidence in [0, 1], raw and, when a calibration map applies, calibrated. */
export const Confidence = z.object({
  value: z.number().min(0).max(1),
  source: ConfidenceSource,
  calibrated: z.number().min(0).max(1).optional(),
  calibrationVersion: z.string().optional(),
});
export type Confidence = z.infer<typeof Confidence>;

/** Where a claim's evidence may be: the task input, an earlier tool result, or the retrieval store. */
export const EVIDENCE_KINDS = ['task_input', 'tool_result', 'retrieval'] as const;

/** Where a claim's evidence is: the task input, an earlier tool result, or the retrieval store. */
export const EvidenceRef = z.object({
  kind: z.enum(EVIDENCE_KINDS),
  /**
   * task_input: a JSON pointer ("/a/b") or dot path ("a.b"; "." for all) into TaskSubmitted.input; tool_result: the
   * actionId of an earlier result; retrieval: a fact's source id.
   */
  ref: z.string().min(1).max(MAX_EVIDENCE_REF_CHARS),
});

/** A factual statement a proposal rests on, with where it came from. */
export const Claim = z.object({
  text: z.string().min(1).max(MAX_CLAIM_TEXT_CHARS),
  evidence: z.array(EvidenceRef).max(MAX_EVIDENCE_PER_CLAIM),
});
export type Claim = z.infer<typeof Claim>;

/** The kinds of resource a scope may name. */
export const ResourceKinds = ['collections', 'paths', 'hosts', 'recipients'] as const;

/** A scope's list of resource patterns of one kind, each 1 to `maxChars` characters; absent means none. */
const patterns = (maxChars: number) =>
  z.array(z.string().min(1).max(maxChars)).max(MAX_SCOPE_PATTERNS_PER_KIND).default([]);

/** The task's declared scope: the tools it may use and glob patterns of the resources they may touch. */
export const Scope = z.object({
  tools: z.array(Identifier).min(1).max(MAX_SCOPE_TOOLS),
  resources: z
    .object({
      collections: patterns(MAX_NAME_PATTERN_CHARS),
      paths: patterns(MAX_PATH_PATTERN_CHARS),
      hosts: patterns(MAX_NAME_PATTERN_CHARS),
      recipients: patterns(MAX_RECIPIENT_PATTERN_CHARS),
    })
    .strict(),
});
export type Scope = z.infer<typeof Scope>;

/**
 * A limit: a positive, finite number no larger than `max`. Zero, negatives, NaN, Infinity and absurd values are
 * refused at submission; a limit is never read as "unbounded".
 */
export function limit(max: number, integer = true): z.ZodNumber {
  const base = z.number().positive().max(max).finite();
  return integer ? base.int() : base;
}

/** Magnitude limits per action and summed over the task. */
export const MagnitudeLimits = z
  .object({
    maxRowsPerAction: limit(1_000_000),
    maxRowsPerTask: limit(10_000_000),
    maxFilesPerAction: limit(100_000),
    maxFilesPerTask: limit(1_000_000),
    maxRecipientsPerAction: limit(100_000),
    maxRecipientsPerTask: limit(1_000_000),
    maxMoneyUsdPerAction: limit(10_000_000, false),
    maxMoneyUsdPerTask: limit(100_000_000, false),
  })
  .strict();
export type MagnitudeLimits = z.infer<typeof MagnitudeLimits>;

/** Hard budgets of one task. */
export const Budgets = z
  .object({
    maxTokens: limit(100_000_000),
    maxCostUsd: limit(100_000, false),
    maxSteps: limit(10_000),
    maxWallTimeMs: limit(7 * 24 * 3_600_000),
  })
  .strict();
export type Budgets = z.infer<typeof Budgets>;

/** Risk settings of one task, bounded by the tenant's own limits at submission. */
export const RiskSettings = z
  .object({
    /** Over a magnitude limit: deny outright, or ask a person. */
    onMagnitudeExceeded: z.enum(['deny', 'escalate']),
    /** Consecutive failures that open the per-task breaker. */
    maxConsecutiveFailures: limit(100),
    /** Optional per-task confidence floor on top of the policy's thresholds. */
    minConfidence: z.number().min(0).max(1).optional(),
  })
  .strict();
export type RiskSettings = z.infer<typeof RiskSettings>;

/** Who asked for something or decided something. */
export const Actor = z.object({
  id: z.string().min(1).max(MAX_ID_CHARS),
  kind: z.enum(['user', 'service', 'system']),
  role: z.string().min(1).max(MAX_LABEL_CHARS).optional(),
});
export type Actor = z.infer<typeof Actor>;

/** A guard rule's outcome. */
export const RuleOutcome = z.enum(['allow', 'deny', 'escalate', 'skip']);

/** How a rule is enforced: log-only records what it would do, warn records and alerts, enforce blocks. */
export const RuleMode = z.enum(['log_only', 'warn', 'enforce']);

/** One rule evaluated by the guard. */
export const RuleEvaluation = z.object({
  rule: z.string().min(1).max(MAX_ID_CHARS),
  mode: RuleMode,
  outcome: RuleOutcome,
  code: z.string().max(MAX_ID_CHARS).optional(),
  detail: z.string().max(MAX_NOTE_CHARS).optional(),
});
export type RuleEvaluation = z.infer<typeof RuleEvaluation>;

/** The record every guard verdict carries. */
export const VerdictRecord = z.object({
  proposalEventId: z.uuid(),
  proposalKind: z.enum(['action', 'answer']),
  actionId: z.string().min(1).max(MAX_ID_CHARS),
  rulesEvaluated: z.array(RuleEvaluation),
  ruleFired: z.string().max(MAX_ID_CHARS).nullable(),
  reasonCode: z.string().min(1).max(MAX_ID_CHARS),
  policyVersion: z.string().min(1).max(MAX_ID_CHARS),
  inputHashes: z.object({ proposal: Sha256Hex, state: Sha256Hex, policy: Sha256Hex }),
  /**
   * The confidence figures the verdict was judged on: the raw confidence, the calibrated one, the threshold that
   * applied, the risk tier, and the version of the calibration map used (a published calibration's, or the policy
   * file's). Absent when the guard did not reach the confidence check (e.g. an unknown task).
   */
  confidence: z
    .object({
      raw: z.number().min(0).max(1),
      calibrated: z.number().min(0).max(1),
      threshold: z.number().min(0).max(1),
      tier: z.enum(['low', 'medium', 'high', 'critical']),
      calibrationVersion: z.string().min(1).max(MAX_ID_CHARS),
    })
    .optional(),
});

/** Estimated impact of a destructive action, from the tool's dry run. */
export const Impact = z.object({
  rows: z.number().int().nonnegative().default(0),
  files: z.number().int().nonnegative().default(0),
  recipients: z.number().int().nonnegative().default(0),
  moneyUsd: z.number().nonnegative().default(0),
});
export type Impact = z.infer<typeof Impact>;

/** An impact of nothing: no rows, files, recipients or money (frozen; spread it to set one dimension). */
export const noImpact: Impact = Object.freeze({ rows: 0, files: 0, recipients: 0, moneyUsd: 0 });

/** A message of the conversation sent to the model. */
export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().nullable(),
  name: z.string().optional(),
  toolCallId: z.string().optional(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A reference to a claim-checked payload in the blob store. */
export const BlobRef = z
  .object({
    $claimCheck: z.object({ sha256: Sha256Hex, sizeBytes: z.number().int().nonnegative(), contentType: z.string() }),
  })
  .strict();
export type BlobRef = z.infer<typeof BlobRef>;

/**
 * Modest task defaults a submitter need not write: magnitude limits, budgets and risk settings that escalate when
 * exceeded. What the CLI fills in for a person, and what test tasks start from.
 */
export const DEFAULT_TASK_CONTROLS = Object.freeze({
  limits: Object.freeze({
    maxRowsPerAction: 10,
    maxRowsPerTask: 50,
    maxFilesPerAction: 5,
    maxFilesPerTask: 20,
    maxRecipientsPerAction: 5,
    maxRecipientsPerTask: 20,
    maxMoneyUsdPerAction: 100,
    maxMoneyUsdPerTask: 500,
  }),
  budgets: Object.freeze({ maxTokens: 50_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 }),
  risk: Object.freeze({ onMagnitudeExceeded: 'escalate' as const, maxConsecutiveFailures: 3 }),
});
