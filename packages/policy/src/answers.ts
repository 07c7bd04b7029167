import { salientLiterals } from './corpus.js';
import { show, truncate } from './format.js';
import { groundingCorpus } from './grounding.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { CheckContext, CheckResult } from './types.js';

/** The lookup tools of the task's scope: tools the policy knows that change nothing (they read, search, fetch). */
function lookupToolsInScope(ctx: CheckContext): string[] {
  return ctx.state.task.scope.tools.filter((name) => ctx.policy.tools.get(name)?.destructive === false);
}

/**
 * Answer evidence: an answer is a claim about the world and gets the scrutiny an action's arguments get. Where the
 * policy requires it (by default in a task whose scope has a lookup tool, so facts were there to be looked up) an
 * answer must cite evidence, and every literal it states (numbers, ids, dates, amounts, addresses) must be found in
 * the task, a tool result or a confirmed fact, as an action's critical fields must. Otherwise escalate, naming them.
 */
export function checkAnswerEvidence(ctx: CheckContext): CheckResult {
  const { proposal, policy } = ctx;
  if (proposal.kind !== 'answer') return { outcome: 'allow' };
  const rule = policy.answer.requireEvidence;
  const lookups = lookupToolsInScope(ctx);
  if (rule === 'never' || (rule === 'when_lookup_in_scope' && lookups.length === 0)) return { outcome: 'allow' };
  if (proposal.claims.length === 0) {
    return {
      outcome: 'escalate',
      code: GuardReasonCodes.answerUnfounded,
      detail: truncate(
        rule === 'always'
          ? 'the answer cites no evidence, and this policy requires every answer to'
          : `the answer cites no evidence, and the task could look facts up (${lookups.join(', ')})`,
      ),
    };
  }
  const corpus = groundingCorpus(ctx.state);
  const missing = salientLiterals(proposal.answer).filter((literal) => !corpus.has(literal));
  if (missing.length === 0) return { outcome: 'allow' };
  return {
    outcome: 'escalate',
    code: GuardReasonCodes.answerUngroundedLiteral,
    detail: truncate(
      `the answer states ${missing.map((m) => show(m)).join(', ')}, found in no task input, tool result or confirmed fact`,
    ),
  };
}

/** Words that, just before an effect's wording, say it did not happen ("was not sent", "could not refund"). */
const NEGATION_BEFORE =
  /\b(?:not|never|no|cannot|unable|failed|refused|rejected|denied)\b[^.!?\n]{0,20}$|n't\s+(?:\w+\s+)?$/iu;

/** Where the answer asserts an effect: the first match of the pattern that is not negated, or null. */
export function assertedEffect(answer: string, pattern: RegExp): string | null {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  for (const match of answer.matchAll(global)) {
    const before = answer.slice(Math.max(0, (match.index ?? 0) - 40), match.index ?? 0);
    if (!NEGATION_BEFORE.test(before)) return match[0];
  }
  return null;
}

/**
 * Effects: an answer that asserts an effect ("Sent.", "Refunded 42.50 USD") of a tool in the task's scope that did
 * not succeed in this task escalates: after a refused or failed action a model may still claim success, and a completion must not carry it.
 * The wording of each tool's effect is policy (answer.effectClaims).
 */
export function checkEffects(ctx: CheckContext): CheckResult {
  const { proposal, policy, state } = ctx;
  if (proposal.kind !== 'answer') return { outcome: 'allow' };
  const details: string[] = [];
  const inScope = new Set(state.task.scope.tools);
  for (const [tool, pattern] of policy.answer.effectClaims) {
    // Only the effects this task could have had: "the order was refunded" read from a file in a task that cannot
    // refund reports a fact, it claims no effect.
    if (!inScope.has(tool)) continue;
    const asserted = assertedEffect(proposal.answer, pattern);
    if (asserted === null) continue;
    if (state.toolResults.some((r) => r.tool === tool)) continue;
    details.push(`the answer says ${show(asserted)}, but ${tool} did not succeed in this task`);
  }
  if (details.length === 0) return { outcome: 'allow' };
  return { outcome: 'escalate', code: GuardReasonCodes.unfoundedEffect, detail: truncate(details.join('; ')) };
}
