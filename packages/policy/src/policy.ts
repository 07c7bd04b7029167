/**
 * Policy as code: typed rules checked by zod. A rule is { id, description, mode, when, effect, code }; `when` is a
 * small declarative condition language compiled once, at load, into a pure predicate over a RuleInput (the
 * proposal and the guard's own numbers, never tool results or task text).
 */
import { z } from 'zod';
import { JsonValue, RuleMode, canonicalJson } from '@warden/contracts';
import { matchesAny } from './glob.js';
import { parseArgPath, valuesAt, type ArgPath } from './paths.js';
import { GuardReasonCodes, checkOrder } from './reason-codes.js';
import { caseInsensitiveKinds } from './scope.js';
import {
  ResourceKindNames,
  RiskTiers,
  type CheckResult,
  type CompiledRule,
  type RiskTier,
  type RuleInput,
} from './types.js';

/** A regular expression in a policy file: a source string, or { pattern, flags } with flags among i, m, s, u. */
export type PatternDoc = string | { pattern: string; flags?: string | undefined };

/** Impact figures a condition compares against (strictly above). */
export interface ImpactFiguresDoc {
  rows?: number | undefined;
  files?: number | undefined;
  recipients?: number | undefined;
  moneyUsd?: number | undefined;
}

/**
 * A condition: every test named in one object must hold (AND); `all`, `any` and `not` combine conditions.
 * Arg paths are dot separated with `*` for every element; a path test holds when any value at the path passes.
 */
export interface ConditionDoc {
  /** Every sub-condition holds. */
  all?: ConditionDoc[] | undefined;
  /** At least one sub-condition holds. */
  any?: ConditionDoc[] | undefined;
  /** The sub-condition does not hold. */
  not?: ConditionDoc | undefined;
  /** The proposal is an action or an answer. */
  kind?: 'action' | 'answer' | undefined;
  /** The tool matches one of these names or globs ("files.*"). */
  tool?: string[] | undefined;
  /** The risk tier is one of these. */
  tierIn?: RiskTier[] | undefined;
  /** The tool is (or is not) destructive. */
  destructive?: boolean | undefined;
  /** For each path, some value there equals the given JSON value. */
  argEquals?: Record<string, JsonValue> | undefined;
  /** For each path, some string value there matches the pattern. */
  argMatches?: Record<string, PatternDoc> | undefined;
  /** Each path has at least one value. */
  argExists?: string[] | undefined;
  /**
   * Some resource of a named kind, normalised as the scope check sees it (a URL's host name, lower case), matches
   * one of the globs. Sturdier than a regular expression over raw args: "http://0x7f.1/" is host 127.0.0.1.
   */
  resourceIn?: ResourceGlobsDoc | undefined;
  /** This action's impact is strictly above one of the figures (false when the impact is unknown). */
  impactAbove?: ImpactFiguresDoc | undefined;
  /** Approved impact plus this action's is strictly above one of the figures (false when unknown). */
  cumulativeImpactAbove?: ImpactFiguresDoc | undefined;
  /** The answer text matches the pattern. */
  answerMatches?: PatternDoc | undefined;
  /** The calibrated confidence is strictly below this figure. */
  confidenceBelow?: number | undefined;
  /** The proposal rests on fewer claims than this. */
  claimsFewerThan?: number | undefined;
}

/** Glob patterns per resource kind. */
export interface ResourceGlobsDoc {
  collections?: string[] | undefined;
  paths?: string[] | undefined;
  hosts?: string[] | undefined;
  recipients?: string[] | undefined;
}

/** A rule as written in a policy file. */
export interface RuleDoc {
  id: string;
  description: string;
  mode: 'log_only' | 'warn' | 'enforce';
  when: ConditionDoc;
  effect: 'deny' | 'escalate';
  code: string;
}

/** A pattern that repeats a group which itself repeats, e.g. (a+)+ or (.*)*: catastrophic backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

function patternParts(p: PatternDoc): { source: string; flags: string } {
  return typeof p === 'string' ? { source: p, flags: '' } : { source: p.pattern, flags: p.flags ?? '' };
}

/** The zod schema of a policy regular expression; refuses invalid expressions and nested quantifiers. */
export const PatternSchema: z.ZodType<PatternDoc> = z
  .union([
    z.string().min(1).max(1_000),
    z
      .object({
        pattern: z.string().min(1).max(1_000),
        flags: z
          .string()
          .regex(/^[imsu]*$/, 'flags may only be i, m, s or u (g and y make a regular expression stateful)')
          .optional(),
      })
      .strict(),
  ])
  .superRefine((p, ctx) => {
    const { source, flags } = patternParts(p);
    try {
      new RegExp(source, flags);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(error as Error).message}` });
      return;
    }
    if (NESTED_QUANTIFIER.test(source)) {
      ctx.addIssue({
        code: 'custom',
        message: `regular expression ${JSON.stringify(source)} repeats a repeated group and may backtrack catastrophically`,
      });
    }
  });

const ArgPathString = z
  .string()
  .max(300)
  .refine((path) => parseArgPath(path) !== null, 'not an arg path (dot-separated keys, * for every element)');

const ImpactFigures = z
  .object({
    rows: z.number().nonnegative().finite().optional(),
    files: z.number().nonnegative().finite().optional(),
    recipients: z.number().nonnegative().finite().optional(),
    moneyUsd: z.number().nonnegative().finite().optional(),
  })
  .strict()
  .refine((f) => Object.keys(f).length > 0, 'name at least one of rows, files, recipients, moneyUsd');

const Globs = z.array(z.string().min(1).max(500)).min(1).max(100).optional();
const ResourceGlobs = z
  .object({ collections: Globs, paths: Globs, hosts: Globs, recipients: Globs })
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'name at least one resource kind');

const ToolPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9*?._:@/-]+$/, 'expected a tool name or a glob of tool names');

/** The zod schema of a condition (recursive). */
export const ConditionSchema: z.ZodType<ConditionDoc> = z.lazy(() =>
  z
    .object({
      all: z.array(ConditionSchema).min(1).max(50).optional(),
      any: z.array(ConditionSchema).min(1).max(50).optional(),
      not: ConditionSchema.optional(),
      kind: z.enum(['action', 'answer']).optional(),
      tool: z.array(ToolPattern).min(1).max(100).optional(),
      tierIn: z.array(z.enum(RiskTiers)).min(1).optional(),
      destructive: z.boolean().optional(),
      argEquals: z.record(ArgPathString, JsonValue).optional(),
      argMatches: z.record(ArgPathString, PatternSchema).optional(),
      argExists: z.array(ArgPathString).min(1).max(50).optional(),
      resourceIn: ResourceGlobs.optional(),
      impactAbove: ImpactFigures.optional(),
      cumulativeImpactAbove: ImpactFigures.optional(),
      answerMatches: PatternSchema.optional(),
      confidenceBelow: z.number().min(0).max(1).optional(),
      claimsFewerThan: z.number().int().positive().max(1_000).optional(),
    })
    .strict()
    .refine((c) => Object.values(c).some((v) => v !== undefined), 'a condition must name at least one test'),
);

const reservedRuleIds: ReadonlySet<string> = new Set<string>(checkOrder);

/** The zod schema of a rule. */
export const RuleSchema: z.ZodType<RuleDoc> = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'expected lower-case letters, digits and . _ - (at most 100)')
      .refine((id) => !reservedRuleIds.has(id), `is the name of a built-in check (${checkOrder.join(', ')})`),
    description: z.string().min(1).max(1_000),
    mode: RuleMode,
    when: ConditionSchema,
    effect: z.enum(['deny', 'escalate']),
    code: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/, 'expected a snake_case reason code')
      .refine((code) => code !== GuardReasonCodes.allowed, 'a rule that blocks cannot use the code "allowed"'),
  })
  .strict();

type Test = (input: RuleInput) => boolean;

function compilePattern(p: PatternDoc): RegExp {
  const { source, flags } = patternParts(p);
  return new RegExp(source, flags);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return canonicalJson(a) === canonicalJson(b);
}

function figuresTest(figures: ImpactFiguresDoc, pick: (input: RuleInput) => RuleInput['impact']): Test {
  const entries = Object.entries(figures).filter(
    (e): e is ['rows' | 'files' | 'recipients' | 'moneyUsd', number] => e[1] !== undefined,
  );
  return (input) => {
    const impact = pick(input);
    return impact !== null && entries.some(([key, figure]) => impact[key] > figure);
  };
}

function pathEntries<T>(record: Record<string, T>): [ArgPath, T][] {
  return Object.entries(record).map(([path, value]) => [parseArgPath(path) ?? [path], value]);
}

/** Compiles a condition into a pure predicate (regular expressions and globs compiled once, here). */
export function compileCondition(c: ConditionDoc): Test {
  const tests: Test[] = [];
  if (c.all) {
    const subs = c.all.map(compileCondition);
    tests.push((i) => subs.every((s) => s(i)));
  }
  if (c.any) {
    const subs = c.any.map(compileCondition);
    tests.push((i) => subs.some((s) => s(i)));
  }
  if (c.not) {
    const sub = compileCondition(c.not);
    tests.push((i) => !sub(i));
  }
  if (c.kind) {
    const kind = c.kind;
    tests.push((i) => i.kind === kind);
  }
  if (c.tool) {
    const patterns = c.tool;
    tests.push((i) => i.tool !== null && matchesAny(i.tool, patterns, false));
  }
  if (c.tierIn) {
    const tiers = new Set<RiskTier>(c.tierIn);
    tests.push((i) => tiers.has(i.tier));
  }
  if (c.destructive !== undefined) {
    const destructive = c.destructive;
    tests.push((i) => i.destructive === destructive);
  }
  if (c.argEquals) {
    for (const [path, expected] of pathEntries(c.argEquals)) {
      tests.push((i) => i.args !== null && valuesAt(i.args, path).some((v) => jsonEqual(v.value, expected)));
    }
  }
  if (c.argMatches) {
    for (const [path, pattern] of pathEntries(c.argMatches)) {
      const re = compilePattern(pattern);
      tests.push(
        (i) => i.args !== null && valuesAt(i.args, path).some((v) => typeof v.value === 'string' && re.test(v.value)),
      );
    }
  }
  if (c.argExists) {
    const paths = c.argExists.map((p) => parseArgPath(p) ?? [p]);
    tests.push((i) => i.args !== null && paths.every((p) => valuesAt(i.args, p).length > 0));
  }
  if (c.resourceIn) {
    for (const kind of ResourceKindNames) {
      const globs = c.resourceIn[kind];
      if (globs === undefined) continue;
      const caseInsensitive = caseInsensitiveKinds.has(kind);
      tests.push((i) => i.resources[kind].some((value) => matchesAny(value, globs, caseInsensitive)));
    }
  }
  if (c.impactAbove) tests.push(figuresTest(c.impactAbove, (i) => i.impact));
  if (c.cumulativeImpactAbove) tests.push(figuresTest(c.cumulativeImpactAbove, (i) => i.cumulativeImpact));
  if (c.answerMatches) {
    const re = compilePattern(c.answerMatches);
    tests.push((i) => i.answer !== null && re.test(i.answer));
  }
  if (c.confidenceBelow !== undefined) {
    const figure = c.confidenceBelow;
    tests.push((i) => i.calibratedConfidence < figure);
  }
  if (c.claimsFewerThan !== undefined) {
    const figure = c.claimsFewerThan;
    tests.push((i) => i.claimsCount < figure);
  }
  return (i) => tests.every((t) => t(i));
}

/** Compiles a validated rule. */
export function compileRule(rule: RuleDoc): CompiledRule {
  return {
    id: rule.id,
    description: rule.description,
    mode: rule.mode,
    effect: rule.effect,
    code: rule.code,
    matches: compileCondition(rule.when),
  };
}

/**
 * Evaluates one rule: its effect when its condition holds, allow otherwise. What the mode does with that outcome
 * (record only, warn, block) is decide()'s business.
 */
export function evaluateRule(rule: CompiledRule, input: RuleInput): CheckResult {
  if (!rule.matches(input)) return { outcome: 'allow' };
  return { outcome: rule.effect, code: rule.code, detail: rule.description };
}
