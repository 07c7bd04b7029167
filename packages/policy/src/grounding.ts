import { givenArgs } from './task-view.js';
import type { Claim } from '@warden/contracts';
import { buildCorpus, salientLiterals, type Corpus } from './corpus.js';
import { show, truncate } from './format.js';
import { parseArgPath, resolvePointer, valuesAt } from './paths.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { CheckContext, CheckResult, GuardState } from './types.js';

/** The leaf literals (strings and numbers) of a value, with where they are below it. */
function leafLiterals(value: unknown, where: string, out: { where: string; value: string | number }[]): void {
  if (typeof value === 'string') {
    if (value.trim() !== '') out.push({ where, value });
  } else if (typeof value === 'number') {
    out.push({ where, value });
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => leafLiterals(item, `${where}[${i}]`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) leafLiterals(item, `${where}.${key}`, out);
  }
  // Booleans and null state no fact worth grounding.
}

/** The corpus of everything a literal may be grounded in: the goal, the task input, tool results, confirmed facts. */
export function groundingCorpus(state: GuardState): Corpus {
  const values: unknown[] = [state.task.goal, state.task.input, ...givenArgs(state.task)];
  for (const r of state.toolResults) values.push(r.result);
  for (const f of state.facts) values.push(f.text, f.value);
  return buildCorpus(values);
}

function quote(text: string): string {
  return JSON.stringify(truncate(text, 80));
}

/**
 * Resolves a task-input evidence ref: an RFC 6901 JSON pointer ("/order/lines/0"), or the dot path models write
 * ("order.lines.0"; "." for the whole input).
 */
export function resolveInputRef(input: unknown, ref: string): { found: true; value: unknown } | { found: false } {
  if (ref === '.' || ref === '') return { found: true, value: input };
  if (ref.startsWith('/')) return resolvePointer(input, ref);
  const path = parseArgPath(ref);
  if (path === null || path.includes('*')) return { found: false };
  const at = valuesAt(input, path);
  return at.length === 1 ? { found: true, value: at[0]!.value } : { found: false };
}

/** Why a claim is not grounded, or null when every evidence ref resolves and holds every literal of the claim. */
export function claimProblem(claim: Claim, index: number, state: GuardState): string | null {
  if (claim.evidence.length === 0) return `${claimLabel(claim, index)} has no evidence`;
  const evidence: unknown[] = [];
  for (let j = 0; j < claim.evidence.length; j += 1) {
    const ref = claim.evidence[j];
    if (!ref) continue;
    const before = evidence.length;
    if (ref.kind === 'task_input') {
      const found = resolveInputRef(state.task.input, ref.ref);
      if (!found.found) return `${refLabel(claim, index, j)} does not exist in the task input`;
      evidence.push(found.value);
    } else if (ref.kind === 'tool_result') {
      for (const r of state.toolResults) if (r.actionId === ref.ref) evidence.push(r.result);
      if (evidence.length === before) return `${refLabel(claim, index, j)} is not an earlier tool result of this task`;
    } else {
      for (const f of state.facts) if (f.sourceId === ref.ref) evidence.push(f.text, f.value);
      if (evidence.length === before) return `${refLabel(claim, index, j)} is not a confirmed retrieval fact`;
    }
  }
  const literals = salientLiterals(claim.text);
  if (literals.length === 0) return null;
  const corpus = buildCorpus(evidence);
  const missing = literals.filter((literal) => !corpus.has(literal));
  if (missing.length === 0) return null;
  return `${claimLabel(claim, index)} states ${missing.map((m) => show(m)).join(', ')} not found in its evidence`;
}

function claimLabel(claim: Claim, index: number): string {
  return `claims[${index}] ${quote(claim.text)}`;
}

function refLabel(claim: Claim, index: number, j: number): string {
  const ref = claim.evidence[j];
  return `${claimLabel(claim, index)} evidence[${j}] ${ref?.kind ?? ''} ${show(ref?.ref ?? '')}`;
}

/**
 * Grounding and fact-check. Every critical literal of an action's args (the tool's criticalFields: ids, amounts,
 * addresses, paths) must appear in the task's goal or input, an earlier tool result or a retrieval-confirmed fact
 * (numbers compared numerically, strings normalised for case and whitespace, matched as whole tokens). Every claim
 * must cite evidence that resolves, and that evidence must hold the claim's literals. Otherwise escalate, naming
 * the literal or the claim. The proposal's own text (reasoning, claims) never grounds anything.
 */
export function checkGrounding(ctx: CheckContext): CheckResult {
  const { state, proposal, tool } = ctx;
  let code: string | undefined;
  const details: string[] = [];
  if (proposal.kind === 'action' && tool && tool.criticalPaths.length > 0) {
    let corpus: Corpus | undefined;
    for (const path of tool.criticalPaths) {
      for (const located of valuesAt(proposal.args, path)) {
        const literals: { where: string; value: string | number }[] = [];
        leafLiterals(located.value, `args.${located.where}`, literals);
        for (const literal of literals) {
          corpus ??= groundingCorpus(state);
          if (corpus.has(literal.value)) continue;
          code ??= GuardReasonCodes.ungroundedLiteral;
          details.push(
            `${literal.where}=${show(literal.value)} is not in the task input, an earlier tool result or a confirmed fact`,
          );
        }
      }
    }
  }
  for (let i = 0; i < proposal.claims.length; i += 1) {
    const claim = proposal.claims[i];
    const problem = claim ? claimProblem(claim, i, state) : null;
    if (problem === null) continue;
    code ??= GuardReasonCodes.ungroundedClaim;
    details.push(problem);
  }
  if (code === undefined) return { outcome: 'allow' };
  return { outcome: 'escalate', code, detail: truncate(details.join('; ')) };
}
