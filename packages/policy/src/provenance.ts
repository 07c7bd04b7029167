import { givenArgs } from './task-view.js';
import { buildCorpus, type Corpus } from './corpus.js';
import { show, truncate } from './format.js';
import { valuesAt } from './paths.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { CheckContext, CheckResult, GuardState, Policy, ToolResultRecord } from './types.js';

/**
 * Whether a tool's results are authority (trusted: Warden's own stores, ground truth, the outcome of an effect) or
 * data a third party wrote (untrusted: files, pages, e-mails). A tool the policy does not know is untrusted.
 */
export function isTrustedResult(record: Pick<ToolResultRecord, 'tool'>, policy: Policy): boolean {
  return policy.tools.get(record.tool)?.outputTrust === 'trusted';
}

/** The corpus of what may vouch for a literal: the goal, the task input, trusted tool results, confirmed facts. */
export function trustedCorpus(state: GuardState, policy: Policy): Corpus {
  const values: unknown[] = [state.task.goal, state.task.input, ...givenArgs(state.task)];
  for (const r of state.toolResults) if (isTrustedResult(r, policy)) values.push(r.result);
  for (const f of state.facts) values.push(f.text, f.value);
  return buildCorpus(values);
}

/** The leaf strings and numbers of a value. */
function leaves(value: unknown, out: (string | number)[]): void {
  if (typeof value === 'string') {
    if (value.trim() !== '') out.push(value);
  } else if (typeof value === 'number') {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) leaves(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) leaves(item, out);
  }
}

/**
 * Provenance: a critical field of an action (recipient, id of a destructive action, amount, path, url) whose value is
 * found only in untrusted content (a file, a page, an e-mail the task read), not in the task, a trusted tool result
 * or a confirmed fact, escalates. Untrusted text is data, never authority: it may not choose where an action goes.
 * A value found nowhere is the grounding check's finding, not this one's.
 */
export function checkProvenance(ctx: CheckContext): CheckResult {
  const { state, proposal, tool, policy } = ctx;
  if (proposal.kind !== 'action' || !tool || tool.criticalPaths.length === 0) return { outcome: 'allow' };
  const untrusted = state.toolResults.filter((r) => !isTrustedResult(r, policy));
  if (untrusted.length === 0) return { outcome: 'allow' };
  let trusted: Corpus | undefined;
  const details: string[] = [];
  for (const path of tool.criticalPaths) {
    for (const located of valuesAt(proposal.args, path)) {
      const literals: (string | number)[] = [];
      leaves(located.value, literals);
      for (const literal of literals) {
        trusted ??= trustedCorpus(state, policy);
        if (trusted.has(literal)) continue;
        const sources = untrusted.filter((r) => buildCorpus([r.result]).has(literal));
        if (sources.length === 0) continue;
        details.push(
          `args.${located.where}=${show(literal)} is supported only by untrusted content (${sources
            .map((r) => `${r.tool} ${r.actionId}`)
            .join(', ')})`,
        );
      }
    }
  }
  if (details.length === 0) return { outcome: 'allow' };
  return { outcome: 'escalate', code: GuardReasonCodes.untrustedSource, detail: truncate(details.join('; ')) };
}

/**
 * Text that reads as instructions to an agent: overrides of earlier instructions, new roles, requests to send,
 * forward, pay, delete or change something. Heuristic by nature: it flags, the provenance check is what blocks.
 */
const INSTRUCTION_LIKE: readonly RegExp[] = [
  /\b(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|all|your)\b[^.\n]{0,20}\b(?:instructions?|rules|prompts?|messages?)\b/iu,
  /\b(?:system|developer)\s*(?:prompt|override|message|instruction)s?\s*:/iu,
  /\b(?:new|updated|real)\s+instructions?\b/iu,
  /\byou\s+(?:must|should|are required to|need to)\s+(?:now\s+)?(?:send|forward|e-?mail|pay|refund|transfer|delete|remove|write|update|change|call|run)\b/iu,
  /\b(?:please\s+)?(?:send|forward|e-?mail|copy)\b[^.\n]{0,60}\bto\s+[^\s@]+@[^\s@]+\.[a-z]{2,}/iu,
  /\bact as\b|\byou are now\b/iu,
];

/** The instruction-like passages of a text (at most a few), for the verdict's detail. */
export function instructionLikePassages(text: string): string[] {
  const out: string[] = [];
  for (const pattern of INSTRUCTION_LIKE) {
    const match = pattern.exec(text);
    if (match !== null) out.push(match[0]);
  }
  return out;
}

function stringsOf(value: unknown): string[] {
  const out: (string | number)[] = [];
  leaves(value, out);
  return out.filter((v): v is string => typeof v === 'string');
}

/**
 * Injection: instruction-like text in the untrusted content the task has read is flagged on every proposal that
 * follows it (default mode warn: recorded, alerted, blocking nothing), so a person sees that a third party tried to
 * steer the agent. What it could steer is held by the provenance check.
 */
export function checkInjection(ctx: CheckContext): CheckResult {
  const { state, policy } = ctx;
  const details: string[] = [];
  for (const r of state.toolResults) {
    if (isTrustedResult(r, policy)) continue;
    const found = stringsOf(r.result).flatMap(instructionLikePassages);
    if (found.length > 0) details.push(`${r.tool} ${r.actionId}: ${found.map((f) => show(f)).join(', ')}`);
  }
  if (details.length === 0) return { outcome: 'allow' };
  return {
    outcome: 'escalate',
    code: GuardReasonCodes.untrustedInstructions,
    detail: truncate(`instruction-like text in untrusted content: ${details.join('; ')}`),
  };
}
