import { createHash } from 'node:crypto';
import { confidenceToLogprob, encodeAnswerContent, encodeToolTurnContent } from '@warden/contracts';
import { messageText, type ChatRequest, type RequestMessage } from './chat-request.js';
import type { AnswerStep, Scenario, ScriptedFailure, ScriptStep } from './scenario.js';
import { countCompletionTokens, countPromptTokens, tokenPieces, truncateToTokens } from './tokens.js';

/**
 * Pure decisions of the scripted model: which step of a script a request plays, whether an attempt fails, and the
 * turn it returns. No I/O, no clock, no randomness: the same request always yields the same turn.
 */

/** The prefixes a request's `model` may use to name a scenario: "scripted:<id>" or "scripted/<id>". */
export const MODEL_PREFIXES = ['scripted:', 'scripted/'] as const;

/** The scenario id a model name points at, or undefined when it is not a scripted model name. */
export function scenarioIdOf(model: string): string | undefined {
  for (const prefix of MODEL_PREFIXES) {
    if (model.startsWith(prefix) && model.length > prefix.length) return model.slice(prefix.length);
  }
  return undefined;
}

/** The model name under which a scenario is listed by GET /v1/models. */
export function modelNameOf(scenarioId: string): string {
  return `${MODEL_PREFIXES[0]}${scenarioId}`;
}

/** Hex sha256 of the request's model and messages: the identity of one conversation state. */
export function requestFingerprint(request: Pick<ChatRequest, 'model' | 'messages'>): string {
  return createHash('sha256')
    .update(JSON.stringify([request.model, request.messages]))
    .digest('hex');
}

/** The number of assistant messages in a request: the turn to play when nothing in it says otherwise. */
export function assistantTurns(messages: readonly RequestMessage[]): number {
  return messages.reduce((n, m) => (m.role === 'assistant' ? n + 1 : n), 0);
}

/** A generated tool call id: `call_` + 24 hex = digest (conversation, call position), turn, check. */
const GENERATED_ID = /^call_([0-9a-f]{12})([0-9a-f]{4})([0-9a-f]{8})$/;
/** The largest turn a generated id can carry (4 hex digits); later turns are written as this one. */
const MAX_ID_TURN = 0xffff;

function idCheck(scenarioId: string, digest: string, turnHex: string): string {
  return createHash('sha256').update(`scripted-turn:${scenarioId}:${digest}:${turnHex}`).digest('hex').slice(0, 8);
}

/**
 * A generated tool call id: deterministic, different per conversation (the digest covers the request fingerprint),
 * and carrying the turn it was played at with a check, so a later request can tell the turn from the id alone.
 */
function generatedToolCallId(scenario: Scenario, fingerprint: string, turnIndex: number, index: number): string {
  const digest = createHash('sha256').update(`${scenario.id}:${fingerprint}:${index}`).digest('hex').slice(0, 12);
  const turnHex = Math.min(turnIndex, MAX_ID_TURN).toString(16).padStart(4, '0');
  return `call_${digest}${turnHex}${idCheck(scenario.id, digest, turnHex)}`;
}

/** The content an answer step sends before any max-tokens cut. */
function answerContent(step: AnswerStep): string {
  const answer = step.content.repeat(step.repeat);
  return step.envelope === 'json'
    ? encodeAnswerContent({ answer, reasoning: step.reasoning, confidence: step.confidence, claims: step.claims })
    : answer;
}

/** The content a step sends before any max-tokens cut; null for a tool-call turn without an envelope. */
function stepContent(step: ScriptStep): string | null {
  if (step.kind === 'answer') return answerContent(step);
  return step.envelope === 'json' ? encodeToolTurnContent(step) : null;
}

/** What a scenario's own output looks like, by step: its explicit tool call ids and the contents it sends. */
interface ScriptIndex {
  /** Explicit id → the step that sends it; null when several steps send it (it says nothing then). */
  readonly explicitIds: ReadonlyMap<string, number | null>;
  /** Non-empty contents with the steps that send them. */
  readonly contents: readonly { readonly content: string; readonly stepIndex: number }[];
}

const scriptIndexes = new WeakMap<Scenario, ScriptIndex>();

function scriptIndex(scenario: Scenario): ScriptIndex {
  const cached = scriptIndexes.get(scenario);
  if (cached !== undefined) return cached;
  const explicitIds = new Map<string, number | null>();
  const contents: { content: string; stepIndex: number }[] = [];
  scenario.turns.forEach((turn, stepIndex) => {
    for (const step of turn.alternatives) {
      if (step.kind === 'tool_calls') {
        for (const call of step.calls) {
          if (call.id === undefined) continue;
          const known = explicitIds.get(call.id);
          explicitIds.set(call.id, known === undefined || known === stepIndex ? stepIndex : null);
        }
      }
      const content = stepContent(step);
      if (content !== null && content !== '') contents.push({ content, stepIndex });
    }
  });
  const index = { explicitIds, contents };
  scriptIndexes.set(scenario, index);
  return index;
}

/** The turn at which this scenario sent a tool call id, or undefined when the id is not recognisably its own. */
function turnOfToolCallId(scenario: Scenario, index: ScriptIndex, id: string): number | undefined {
  const generated = GENERATED_ID.exec(id);
  if (generated !== null) {
    const [, digest = '', turnHex = '', check] = generated;
    if (idCheck(scenario.id, digest, turnHex) === check) return Number.parseInt(turnHex, 16);
  }
  const step = index.explicitIds.get(id);
  if (step !== undefined) return step ?? undefined; // sent as is: played at its own step
  const replayed = /^(.+)_t(\d+)$/.exec(id); // an explicit id replayed at a later turn
  if (replayed !== null && index.explicitIds.has(replayed[1] ?? '')) return Number(replayed[2]);
  return undefined;
}

/**
 * The turn at which this scenario sent an assistant message: from its tool call ids, else from its content (equal
 * to, or for a cut answer a prefix of, what exactly one step sends). Undefined when nothing identifies it.
 */
function turnOfAssistant(scenario: Scenario, index: ScriptIndex, message: RequestMessage): number | undefined {
  const fromIds = (message.tool_calls ?? []).flatMap((c) => turnOfToolCallId(scenario, index, c.id) ?? []);
  if (fromIds.length > 0) return Math.max(...fromIds);
  const text = messageText(message.content);
  if (text === '') return undefined;
  const steps = new Set(index.contents.filter((c) => c.content.startsWith(text)).map((c) => c.stepIndex));
  return steps.size === 1 ? [...steps][0] : undefined;
}

/**
 * The turn a request asks for. A client may drop old turns from the conversation (a context window keeps the last
 * few, with a summary in place of the rest), so counting assistant messages is not enough. A message the scenario
 * recognises as its own anchors the count: an assistant message or tool result with a tool call id it generated
 * (the id carries its turn) or an explicit id of the script (`_t<turn>` when replayed), or an assistant message whose
 * content only one step sends. The turn is then that turn + 1 + the assistant messages after it. The largest anchor
 * wins; without one (or when counting gives more) the turn is the number of assistant messages, as before.
 */
export function conversationTurn(scenario: Scenario, messages: readonly RequestMessage[]): number {
  const index = scriptIndex(scenario);
  let later = 0; // assistant messages after the current one
  let anchored = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message === undefined) continue;
    let seen: number | undefined;
    if (message.role === 'assistant') seen = turnOfAssistant(scenario, index, message);
    else if (message.role === 'tool' && message.tool_call_id !== undefined)
      seen = turnOfToolCallId(scenario, index, message.tool_call_id);
    if (seen !== undefined) anchored = Math.max(anchored, seen + 1 + later);
    if (message.role === 'assistant') later += 1;
  }
  return Math.max(later, anchored);
}

/** The step a request plays, or why none does. */
export type StepSelection =
  | { readonly kind: 'step'; readonly turnIndex: number; readonly stepIndex: number; readonly step: ScriptStep }
  | { readonly kind: 'exhausted'; readonly turnIndex: number; readonly steps: number }
  | { readonly kind: 'no_match'; readonly turnIndex: number; readonly stepIndex: number };

/**
 * Picks the step for a request: turn i (see conversationTurn: the number of assistant messages, anchored on the
 * newest message the scenario recognises as its own, so a windowed conversation does not replay earlier steps). Past
 * the end of the script the last step repeats (onExhausted "repeat_last") or the request is refused ("error"). Within
 * a step with alternatives, the first whose `when` matches the last tool message plays.
 */
export function selectStep(scenario: Scenario, messages: readonly RequestMessage[]): StepSelection {
  const turnIndex = conversationTurn(scenario, messages);
  const steps = scenario.turns.length;
  if (turnIndex >= steps && scenario.onExhausted === 'error') return { kind: 'exhausted', turnIndex, steps };
  const stepIndex = Math.min(turnIndex, steps - 1);
  const turn = scenario.turns[stepIndex];
  if (turn === undefined) return { kind: 'exhausted', turnIndex, steps };
  const lastTool = messages.findLast((m) => m.role === 'tool');
  const lastToolText = lastTool === undefined ? undefined : messageText(lastTool.content);
  const step = turn.alternatives.find((alt) => {
    if (alt.when === undefined) return true;
    const needles = alt.when.lastToolResultContains;
    return (
      lastToolText !== undefined &&
      (typeof needles === 'string' ? [needles] : needles).some((n) => lastToolText.includes(n))
    );
  });
  if (step === undefined) return { kind: 'no_match', turnIndex, stepIndex };
  return { kind: 'step', turnIndex, stepIndex, step };
}

/** The scripted failure for the given attempt (0 = first) of a step, or undefined when the attempt succeeds. */
export function failureForAttempt(step: ScriptStep, attempt: number): ScriptedFailure | undefined {
  let remaining = attempt;
  for (const failure of step.failures ?? []) {
    if (remaining < failure.times) return failure;
    remaining -= failure.times;
  }
  return undefined;
}

/** A tool call as returned to the client. */
export interface PlayedToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments string, sent verbatim (it may be malformed JSON when the script says so). */
  readonly arguments: string;
}

/** One token piece of the content with its logprob. */
export interface PlayedLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: number[];
}

/** The turn a request gets: what the response (or stream) carries. */
export interface PlayedTurn {
  readonly content: string | null;
  readonly toolCalls: readonly PlayedToolCall[];
  readonly finishReason: 'stop' | 'tool_calls' | 'length';
  /** Present when the request asked for logprobs; null when there is no content. */
  readonly logprobs?: readonly PlayedLogprob[] | null;
  /** How many top_logprobs the request asked for (each entry then lists the chosen token only). */
  readonly topLogprobs: number;
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
}

function toolCallId(
  scenario: Scenario,
  fingerprint: string,
  selection: { turnIndex: number; stepIndex: number },
  index: number,
  explicit: string | undefined,
): string {
  if (explicit !== undefined)
    return selection.turnIndex === selection.stepIndex ? explicit : `${explicit}_t${selection.turnIndex}`;
  return generatedToolCallId(scenario, fingerprint, selection.turnIndex, index);
}

/** The prompt token count of a request (see countPromptTokens). */
export function promptTokensOf(request: ChatRequest): number {
  return countPromptTokens(request.messages, request.tools);
}

/**
 * Builds the turn a step plays for a request. Deterministic: tool call ids derive from the scenario, the request
 * fingerprint and the call's position, and carry the turn (or are the script's explicit id, suffixed `_t<turn>` when
 * a step is replayed at a later turn). An answer longer than max_completion_tokens (or max_tokens) is cut, with
 * finish_reason "length", unless its step ignores max tokens (a misbehaving server).
 */
export function playStep(input: {
  readonly scenario: Scenario;
  readonly selection: { readonly turnIndex: number; readonly stepIndex: number; readonly step: ScriptStep };
  readonly request: ChatRequest;
  readonly fingerprint: string;
  readonly promptTokens: number;
}): PlayedTurn {
  const { scenario, selection, request, fingerprint, promptTokens } = input;
  const { step } = selection;
  let content: string | null;
  let toolCalls: PlayedToolCall[] = [];
  let finishReason: PlayedTurn['finishReason'];

  if (step.kind === 'tool_calls') {
    toolCalls = step.calls.map((call, index) => ({
      id: toolCallId(scenario, fingerprint, selection, index, call.id),
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }));
    content = stepContent(step);
    finishReason = 'tool_calls';
  } else {
    content = answerContent(step);
    finishReason = 'stop';
    const limit = request.max_completion_tokens ?? request.max_tokens;
    if (limit !== undefined && limit !== null && !step.ignoreMaxTokens) {
      const cut = truncateToTokens(content, limit);
      if (cut.truncated) {
        content = cut.text;
        finishReason = 'length';
      }
    }
  }

  const topLogprobs = request.top_logprobs ?? 0;
  const base = {
    content,
    toolCalls,
    finishReason,
    topLogprobs,
    usage: { promptTokens, completionTokens: countCompletionTokens(content, toolCalls) },
  };
  if (request.logprobs !== true) return base;
  const logprob = confidenceToLogprob(step.confidence);
  const logprobs =
    content === null
      ? null
      : tokenPieces(content).map((piece) => ({
          token: piece.text,
          logprob,
          bytes: [...Buffer.from(piece.text, 'utf8')],
        }));
  return { ...base, logprobs };
}
