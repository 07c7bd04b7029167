import { createHash } from 'node:crypto';
import { messageText, type ChatRequest, type RequestMessage } from './chat-request.js';
import { confidenceToLogprob, encodeAnswerContent, encodeToolTurnContent } from './confidence-protocol.js';
import type { Scenario, ScriptedFailure, ScriptStep } from './scenario.js';
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

/** The number of assistant messages in a request: the index of the turn to play. */
export function assistantTurns(messages: readonly RequestMessage[]): number {
  return messages.reduce((n, m) => (m.role === 'assistant' ? n + 1 : n), 0);
}

/** The step a request plays, or why none does. */
export type StepSelection =
  | { readonly kind: 'step'; readonly turnIndex: number; readonly stepIndex: number; readonly step: ScriptStep }
  | { readonly kind: 'exhausted'; readonly turnIndex: number; readonly steps: number }
  | { readonly kind: 'no_match'; readonly turnIndex: number; readonly stepIndex: number };

/**
 * Picks the step for a request: turn i = the number of assistant messages already in it. Past the end of the script
 * the last step repeats (onExhausted "repeat_last") or the request is refused ("error"). Within a step with
 * alternatives, the first whose `when` matches the last tool message plays.
 */
export function selectStep(scenario: Scenario, messages: readonly RequestMessage[]): StepSelection {
  const turnIndex = assistantTurns(messages);
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
  const digest = createHash('sha256').update(`${scenario.id}:${fingerprint}:${index}`).digest('hex');
  return `call_${digest.slice(0, 24)}`;
}

/** The prompt token count of a request (see countPromptTokens). */
export function promptTokensOf(request: ChatRequest): number {
  return countPromptTokens(request.messages, request.tools);
}

/**
 * Builds the turn a step plays for a request. Deterministic: tool call ids derive from the scenario, the request
 * fingerprint and the call's position (or the script's explicit id, suffixed `_t<turn>` when a step is replayed at a
 * later turn). An answer longer than max_completion_tokens (or max_tokens) is cut, with finish_reason "length".
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
    content = step.envelope === 'json' ? encodeToolTurnContent(step) : null;
    finishReason = 'tool_calls';
  } else {
    const answer = step.content.repeat(step.repeat);
    content =
      step.envelope === 'json'
        ? encodeAnswerContent({ answer, reasoning: step.reasoning, confidence: step.confidence, claims: step.claims })
        : answer;
    finishReason = 'stop';
    const limit = request.max_completion_tokens ?? request.max_tokens;
    if (limit !== undefined && limit !== null) {
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
