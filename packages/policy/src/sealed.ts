/**
 * Judging a proposal whose values are sealed (ADR 0026): the planner seals what the model repeats of the personal
 * data it was shown, so an ActionProposed or AnswerProposed may hold sealed pieces. The guard (and the auditor's
 * backtest) opens them in memory and judges the clear proposal, while the verdict binds the proposal as the event
 * holds it (sealed): the args hash an approval carries is unchanged. A sealed value that cannot be opened (its
 * subject was erased) grounds nothing: such a proposal is never allowed, it escalates (fail closed).
 */
import { OpenedValues, sealRepeatedTextWithin } from '@warden/tools';
import {
  MAX_MESSAGE_CHARS,
  MAX_NOTE_CHARS,
  SEALED_FIELD,
  answerHash,
  canonicalHash,
  holdsErased,
  openSealed,
  type JsonValue,
  type OnOpened,
  type SubjectKeyStore,
} from '@warden/contracts';
import { GuardReasonCodes } from './reason-codes.js';
import type { Proposal, Verdict } from './types.js';

/**
 * Opens sealed values (at any depth, in strings too), tells whether a value holds one that was erased, and seals
 * again, in a text, what repeats a value it opened (`reseal`: a verdict's message and details quote args).
 */
export interface SealedOpener {
  readonly open: (value: JsonValue, onOpened?: OnOpened) => Promise<JsonValue>;
  readonly erased: (value: JsonValue) => Promise<boolean>;
  readonly reseal?: (text: string, opened: OpenedValues, tenantId: string, maxChars: number) => Promise<string>;
}

/** What a proposal holds that the planner may have sealed: args, answer, output and the claims' texts. */
function sealable(p: Proposal): JsonValue {
  const claims = p.claims.map((c) => c.text);
  return p.kind === 'action' ? { args: p.args, claims } : { answer: p.answer, output: p.output ?? null, claims };
}

/**
 * The proposal as the guard judges it: its sealed values opened (an erased one reads `[erased]`), its args hash that
 * of the opened args when the sealed args matched theirs (otherwise left as it is, so that the schema check still
 * denies the mismatch); `erased` when any value could not be opened. Without an opener: the proposal as it is.
 */
export async function openProposal(
  proposal: Proposal,
  opener: SealedOpener | undefined,
): Promise<{ readonly judged: Proposal; readonly erased: boolean; readonly opened: OpenedValues }> {
  const opened = new OpenedValues();
  if (opener === undefined) return { judged: proposal, erased: false, opened };
  const held = sealable(proposal);
  if (!JSON.stringify(held).includes(SEALED_FIELD)) return { judged: proposal, erased: false, opened };
  const erased = await opener.erased(held);
  const open = (value: JsonValue) => opener.open(value, opened.record);
  const claims = await Promise.all(proposal.claims.map(async (c) => ({ ...c, text: (await open(c.text)) as string })));
  if (proposal.kind === 'action') {
    const args = (await open(proposal.args)) as typeof proposal.args;
    const argsHash = canonicalHash(proposal.args) === proposal.argsHash ? canonicalHash(args) : proposal.argsHash;
    return { judged: { ...proposal, args, argsHash, claims }, erased, opened };
  }
  const answer = (await open(proposal.answer)) as string;
  const output = proposal.output === undefined ? {} : { output: await open(proposal.output) };
  return { judged: { ...proposal, answer, ...output, claims }, erased, opened };
}

/**
 * A verdict on an opened proposal with its texts (message, each rule's detail, each warning's) sealed again where
 * they quote a value opened from the proposal (ADR 0026): a check's detail names the literal it judged, and the
 * verdict goes into the log. Unchanged when nothing was opened.
 */
export async function sealVerdictTexts(
  verdict: Verdict,
  opener: SealedOpener | undefined,
  opened: OpenedValues,
  tenantId: string,
): Promise<Verdict> {
  const reseal = opener?.reseal;
  if (reseal === undefined || opened.size === 0) return verdict;
  const detail = async <T extends { readonly detail?: string | undefined }>(x: T): Promise<T> =>
    x.detail === undefined ? x : { ...x, detail: await reseal(x.detail, opened, tenantId, MAX_NOTE_CHARS) };
  return {
    ...verdict,
    message: await reseal(verdict.message, opened, tenantId, MAX_MESSAGE_CHARS),
    rulesEvaluated: await Promise.all(verdict.rulesEvaluated.map(detail)),
    warnings: await Promise.all(verdict.warnings.map(detail)),
  };
}

/**
 * decide()'s verdict on the opened proposal, bound to the sealed one: its args hash (or answer hash) and proposal
 * hash are the sealed proposal's, so an approval binds what the event holds and no hash of clear personal data goes
 * into the log. A proposal holding an erased value is escalated (unless denied): it grounds nothing.
 */
export function verdictOnSealed(verdict: Verdict, sealed: Proposal, judged: Proposal, erased: boolean): Verdict {
  if (judged === sealed) return verdict;
  const bound: Verdict = {
    ...verdict,
    argsHash: sealed.kind === 'action' ? sealed.argsHash : answerHash(sealed.answer, sealed.output ?? null),
    inputHashes: { ...verdict.inputHashes, proposal: canonicalHash(sealed) },
  };
  if (!erased || bound.outcome === 'deny') return bound;
  const code = GuardReasonCodes.sealedValueErased;
  const detail = 'the proposal holds personal data whose subject was erased: it grounds nothing';
  return {
    ...bound,
    outcome: 'escalate',
    reasonCode: code,
    ruleFired: 'grounding',
    message: `grounding: ${code} (${detail})`,
    rulesEvaluated: [
      ...bound.rulesEvaluated,
      { rule: 'grounding', mode: 'enforce', outcome: 'escalate', code, detail },
    ],
  };
}

/** The opener over a subject key store (its cached form in a worker). */
export function sealedOpener(keys: SubjectKeyStore): SealedOpener {
  return {
    open: (value, onOpened) => openSealed(keys, value, onOpened),
    erased: (value) => holdsErased(keys, value),
    reseal: (text, opened, tenantId, maxChars) =>
      sealRepeatedTextWithin(text, { keys, tenantId, opened, patterns: [] }, maxChars),
  };
}
