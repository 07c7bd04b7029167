import { z } from 'zod';
import { RuleMode, canonicalHash, type ValidationIssue } from '@warden/contracts';
import { demoTools } from '@warden/tools';
import { PolicyInvalidError } from './errors.js';
import { formatPath } from './format.js';
import { globMatcher } from './glob.js';
import { parseArgPath } from './paths.js';
import { RuleSchema, compileRule, type ConditionDoc } from './policy.js';
import {
  RiskTiers,
  type Policy,
  type PolicyTool,
  type RiskTier as RiskTierName,
  type ToolRegistry,
  type ToolSpec,
} from './types.js';
import { resourcePathsOf } from './scope.js';

const Unit = z.number().min(0).max(1);
const RiskTier = z.enum(RiskTiers);

/** The zod schema of a policy file (packages/policy/policies/*.json). */
export const PolicyDocument = z
  .object({
    /** The file format; bump on an incompatible change of this schema. */
    formatVersion: z.literal(1),
    /** The policy version recorded with every verdict, e.g. "default.v1". */
    version: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'expected letters, digits and . _ : -'),
    description: z.string().max(2_000).optional(),
    /**
     * The tools anyone may use under this policy, each with an optional confidence floor. A tool's risk tier is part
     * of its definition in code (@warden/tools), not of a policy: a policy raises one tool's bar with minConfidence.
     */
    tools: z.record(
      z.string().min(1).max(200),
      z
        .object({
          minConfidence: Unit.optional(),
          riskTier: z
            .never({
              error:
                "a tool's riskTier is set in its definition (@warden/tools), not in a policy; raise its bar with minConfidence",
            })
            .optional(),
        })
        .strict(),
    ),
    /** Final answers: their risk tier and an optional length limit. */
    answer: z
      .object({
        riskTier: RiskTier,
        maxChars: z.number().int().positive().max(200_000).optional(),
        /** Which answers must cite evidence (default: those of tasks whose scope has a lookup tool). */
        requireEvidence: z.enum(['always', 'never', 'when_lookup_in_scope']).optional(),
        /** Per tool: a case-insensitive pattern of how an answer asserting its effect reads ("\\bsent\\b"). */
        effectClaims: z.record(z.string().min(1).max(200), z.string().min(1).max(500)).optional(),
      })
      .strict(),
    /** Modes of the built-in checks that may be softened while tuned. Schema, scope and magnitude always enforce. */
    checks: z
      .object({
        grounding: RuleMode.optional(),
        provenance: RuleMode.optional(),
        injection: RuleMode.optional(),
        answer_evidence: RuleMode.optional(),
        effects: RuleMode.optional(),
        confidence: RuleMode.optional(),
      })
      .strict()
      .optional(),
    confidence: z
      .object({
        calibration: z
          .object({
            version: z.string().min(1).max(200),
            points: z
              .array(z.tuple([Unit, Unit]))
              .min(2)
              .max(1_000),
          })
          .strict(),
        thresholds: z.object({ low: Unit, medium: Unit, high: Unit, critical: Unit }).strict(),
        largeMagnitude: z
          .object({ fractionOfActionLimit: z.number().gt(0).max(1), threshold: Unit })
          .strict()
          .optional(),
      })
      .strict(),
    rules: z.array(RuleSchema).max(500),
  })
  .strict();

/** A policy file, as parsed. */
export type PolicyDocument = z.infer<typeof PolicyDocument>;

/** Options of loadPolicy. */
export interface LoadPolicyOptions {
  /** The tools the code defines; the demo tools by default. */
  readonly tools?: ToolRegistry;
  /** The schema of a final answer's structured output, when answers must have one. */
  readonly answerOutputSchema?: z.ZodType;
}

function toolNamesIn(
  condition: ConditionDoc,
  out: { path: PropertyKey[]; pattern: string }[],
  path: PropertyKey[],
): void {
  condition.tool?.forEach((pattern, i) => out.push({ path: [...path, 'tool', i], pattern }));
  condition.all?.forEach((c, i) => toolNamesIn(c, out, [...path, 'all', i]));
  condition.any?.forEach((c, i) => toolNamesIn(c, out, [...path, 'any', i]));
  if (condition.not) toolNamesIn(condition.not, out, [...path, 'not']);
}

/** A problem at a path relative to what was checked. */
export interface RelativeIssue {
  readonly path: PropertyKey[];
  readonly message: string;
}

/** What a schema cannot see in a calibration map: it must cover raw 0 to 1, raw rising, calibrated never falling. */
export function calibrationMapIssues(points: readonly (readonly [number, number])[]): RelativeIssue[] {
  const issues: RelativeIssue[] = [];
  const first = points[0];
  const last = points[points.length - 1];
  if (first?.[0] !== 0 || last?.[0] !== 1) {
    issues.push({ path: [], message: 'the first point must have raw 0 and the last raw 1, so every raw value maps' });
  }
  for (let i = 1; i < points.length; i += 1) {
    const [x0, y0] = points[i - 1] ?? [0, 0];
    const [x1, y1] = points[i] ?? [0, 0];
    if (x1 <= x0) issues.push({ path: [i], message: `raw ${x1} must be greater than the previous raw ${x0}` });
    if (y1 < y0) {
      issues.push({ path: [i], message: `calibrated ${y1} is below the previous ${y0}: the map must not decrease` });
    }
  }
  return issues;
}

/** Thresholds must rise with the risk tier: a riskier tier needs more confidence. */
export function thresholdIssues(t: Readonly<Record<RiskTierName, number>>): RelativeIssue[] {
  const issues: RelativeIssue[] = [];
  RiskTiers.forEach((tier, i) => {
    const previous = RiskTiers[i - 1];
    if (previous !== undefined && t[tier] < t[previous]) {
      issues.push({
        path: [tier],
        message: `${tier} ${t[tier]} is below ${previous} ${t[previous]}: a riskier tier needs more confidence`,
      });
    }
  });
  return issues;
}

/** Problems a schema cannot see: calibration shape, threshold order, duplicate ids, unknown tools. */
function coherenceIssues(doc: PolicyDocument, tools: ToolRegistry): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const issue = (path: PropertyKey[], message: string): void => {
    issues.push({ path: formatPath('', path), message });
  };
  for (const i of calibrationMapIssues(doc.confidence.calibration.points)) {
    issue(['confidence', 'calibration', 'points', ...i.path], i.message);
  }
  for (const i of thresholdIssues(doc.confidence.thresholds)) issue(['confidence', 'thresholds', ...i.path], i.message);
  for (const name of Object.keys(doc.tools)) {
    if (!tools.has(name))
      issue(['tools', name], `unknown tool "${name}": the code defines ${[...tools.keys()].join(', ')}`);
  }
  const seen = new Set<string>();
  doc.rules.forEach((rule, i) => {
    if (seen.has(rule.id)) issue(['rules', i, 'id'], `duplicate rule id "${rule.id}"`);
    seen.add(rule.id);
    const names: { path: PropertyKey[]; pattern: string }[] = [];
    toolNamesIn(rule.when, names, ['rules', i, 'when']);
    for (const { path, pattern } of names) {
      const matcher = globMatcher(pattern, false);
      if (!Object.keys(doc.tools).some((name) => matcher(name))) {
        issue(path, `"${pattern}" names no tool of this policy`);
      }
    }
  });
  return issues;
}

function schemaFingerprint(schema: z.ZodType | undefined): unknown {
  if (!schema) return null;
  return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' });
}

function compileTool(spec: ToolSpec, entry: PolicyDocument['tools'][string]): PolicyTool {
  return {
    ...spec,
    minConfidence: entry.minConfidence,
    resourcePaths: resourcePathsOf(spec),
    criticalPaths: spec.criticalFields.map((path) => parseArgPath(path) ?? [path]),
  };
}

/**
 * Loads a policy: parses JSON text (or takes an already-parsed value), validates it with zod and for coherence,
 * joins it with the tools the code defines, compiles its rules and computes its hash (over the document, the tool
 * definitions it relies on, argument schemas included, and the answer output schema). Throws a PolicyInvalidError
 * that lists every problem with its path, e.g. "rules[2].when.argMatches.to.*: invalid regular expression: ...".
 */
export function loadPolicy(source: unknown, options: LoadPolicyOptions = {}): Policy {
  const tools = options.tools ?? demoTools;
  let value = source;
  if (typeof source === 'string') {
    try {
      value = JSON.parse(source) as unknown;
    } catch (error) {
      throw new PolicyInvalidError('policy is not valid JSON', [{ path: '', message: (error as Error).message }], {
        cause: error,
      });
    }
  }
  const parsed = PolicyDocument.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: formatPath('', i.path), message: i.message }));
    throw new PolicyInvalidError('policy does not match the policy schema', issues);
  }
  const doc = parsed.data;
  const issues = coherenceIssues(doc, tools);
  if (issues.length > 0) throw new PolicyInvalidError(`policy ${doc.version} is incoherent`, issues);

  const policyTools = new Map<string, PolicyTool>();
  const fingerprints: unknown[] = [];
  for (const [name, entry] of Object.entries(doc.tools).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const spec = tools.get(name);
    if (!spec) continue; // refused above
    policyTools.set(name, compileTool(spec, entry));
    fingerprints.push({
      name,
      destructive: spec.destructive,
      riskTier: spec.riskTier,
      resources: spec.resources,
      criticalFields: spec.criticalFields,
      outputTrust: spec.outputTrust ?? 'untrusted',
      argsSchema: schemaFingerprint(spec.argsSchema),
      outputSchema: schemaFingerprint(spec.outputSchema),
    });
  }
  const hash = canonicalHash({
    document: doc,
    tools: fingerprints,
    answerOutputSchema: schemaFingerprint(options.answerOutputSchema),
  });
  return {
    version: doc.version,
    hash,
    tools: policyTools,
    answer: {
      riskTier: doc.answer.riskTier,
      maxChars: doc.answer.maxChars,
      outputSchema: options.answerOutputSchema,
      requireEvidence: doc.answer.requireEvidence ?? 'when_lookup_in_scope',
      effectClaims: new Map(
        Object.entries(doc.answer.effectClaims ?? {}).map(([tool, pattern]) => [tool, new RegExp(pattern, 'iu')]),
      ),
    },
    checkModes: {
      grounding: doc.checks?.grounding ?? 'enforce',
      provenance: doc.checks?.provenance ?? 'enforce',
      injection: doc.checks?.injection ?? 'warn',
      answerEvidence: doc.checks?.answer_evidence ?? 'enforce',
      effects: doc.checks?.effects ?? 'enforce',
      confidence: doc.checks?.confidence ?? 'enforce',
    },
    confidence: {
      calibration: { version: doc.confidence.calibration.version, points: doc.confidence.calibration.points },
      thresholds: doc.confidence.thresholds,
      largeMagnitude: doc.confidence.largeMagnitude,
    },
    rules: doc.rules.map(compileRule),
  };
}
