import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionTokenLogprob,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { PlayedLogprob, PlayedTurn } from './play.js';
import { tokenPieces } from './tokens.js';

/**
 * Turns a played turn into the exact wire shapes of the OpenAI Chat Completions API: a `chat.completion` object, or
 * the `chat.completion.chunk` sequence of a stream. The openai package's own types check the shapes at compile time.
 */

/** Token pieces per streamed chunk of content or tool call arguments. */
export const STREAM_PIECES_PER_CHUNK = 8;

/** What every response of a request shares. */
export interface ResponseMeta {
  /** "chatcmpl-..." */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** The model name as the request gave it. */
  readonly model: string;
  readonly systemFingerprint: string;
}

function usageOf(turn: PlayedTurn): CompletionUsage {
  const { promptTokens, completionTokens } = turn.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function logprobEntry(entry: PlayedLogprob, topLogprobs: number): ChatCompletionTokenLogprob {
  return {
    token: entry.token,
    logprob: entry.logprob,
    bytes: entry.bytes,
    top_logprobs: topLogprobs > 0 ? [{ token: entry.token, logprob: entry.logprob, bytes: entry.bytes }] : [],
  };
}

function logprobsOf(
  turn: PlayedTurn,
  entries: readonly PlayedLogprob[] | null | undefined,
): ChatCompletion.Choice.Logprobs | null {
  if (turn.logprobs === undefined) return null;
  return {
    content: entries === null || entries === undefined ? null : entries.map((e) => logprobEntry(e, turn.topLogprobs)),
    refusal: null,
  };
}

/** The `chat.completion` response body of a turn. */
export function toChatCompletion(turn: PlayedTurn, meta: ResponseMeta): ChatCompletion {
  const message: ChatCompletion.Choice['message'] = { role: 'assistant', content: turn.content, refusal: null };
  if (turn.toolCalls.length > 0) {
    message.tool_calls = turn.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, finish_reason: turn.finishReason, logprobs: logprobsOf(turn, turn.logprobs) }],
    usage: usageOf(turn),
    system_fingerprint: meta.systemFingerprint,
  };
}

function groups<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The chunks of a streamed turn, in OpenAI's order: a role chunk, content chunks (with their logprobs), per tool call
 * a chunk with id and name then argument chunks, a chunk with finish_reason and, when `includeUsage`, a last chunk
 * with empty choices and the usage (every earlier chunk then carries `usage: null`).
 */
export function toChunks(turn: PlayedTurn, meta: ResponseMeta, includeUsage: boolean): ChatCompletionChunk[] {
  const chunk = (choice: ChatCompletionChunk.Choice | undefined, usage?: CompletionUsage): ChatCompletionChunk => {
    const out: ChatCompletionChunk = {
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      system_fingerprint: meta.systemFingerprint,
      choices: choice === undefined ? [] : [choice],
    };
    if (includeUsage) out.usage = usage ?? null;
    return out;
  };
  const withLogprobs = turn.logprobs !== undefined;
  const chunks: ChatCompletionChunk[] = [];

  const first: ChatCompletionChunk.Choice = {
    index: 0,
    delta: { role: 'assistant', content: turn.content === null ? null : '', refusal: null },
    finish_reason: null,
  };
  if (withLogprobs) first.logprobs = null;
  chunks.push(chunk(first));

  if (turn.content !== null && turn.content !== '') {
    const entries = turn.logprobs ?? [];
    const pieceGroups = groups(tokenPieces(turn.content), STREAM_PIECES_PER_CHUNK);
    let cursor = 0;
    for (const group of pieceGroups) {
      const choice: ChatCompletionChunk.Choice = {
        index: 0,
        delta: { content: group.map((p) => p.text).join('') },
        finish_reason: null,
      };
      if (withLogprobs) {
        choice.logprobs = {
          content: entries.slice(cursor, cursor + group.length).map((e) => logprobEntry(e, turn.topLogprobs)),
          refusal: null,
        };
      }
      cursor += group.length;
      chunks.push(chunk(choice));
    }
  }

  turn.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        index: 0,
        delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
        finish_reason: null,
      }),
    );
    for (const group of groups(tokenPieces(call.arguments), STREAM_PIECES_PER_CHUNK)) {
      chunks.push(
        chunk({
          index: 0,
          delta: { tool_calls: [{ index, function: { arguments: group.map((p) => p.text).join('') } }] },
          finish_reason: null,
        }),
      );
    }
  });

  const last: ChatCompletionChunk.Choice = { index: 0, delta: {}, finish_reason: turn.finishReason };
  if (withLogprobs) last.logprobs = null;
  chunks.push(chunk(last));
  if (includeUsage) chunks.push(chunk(undefined, usageOf(turn)));
  return chunks;
}

/** The OpenAI error types the scripted model answers with. */
export const ERROR_TYPES = {
  invalidRequest: 'invalid_request_error',
  rateLimit: 'rate_limit_error',
  server: 'server_error',
} as const;

/** An OpenAI-style error body: `{ error: { message, type, param, code } }`. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** Builds an OpenAI-style error body. */
export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** The error body of a scripted failure of the given status. */
export function failureBody(status: 429 | 500 | 503, message: string | undefined): OpenAiErrorBody {
  switch (status) {
    case 429:
      return errorBody(
        message ?? 'Rate limit reached for requests (scripted).',
        ERROR_TYPES.rateLimit,
        'rate_limit_exceeded',
      );
    case 500:
      return errorBody(
        message ?? 'The server had an error while processing your request (scripted).',
        ERROR_TYPES.server,
        'server_error',
      );
    case 503:
      return errorBody(
        message ?? 'The engine is currently overloaded (scripted).',
        ERROR_TYPES.server,
        'service_unavailable',
      );
    default: {
      const unreachable: never = status;
      throw new Error(`unknown failure status ${String(unreachable)}`);
    }
  }
}
