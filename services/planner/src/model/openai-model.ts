import { logprobsToConfidence, type TokenUsage } from '@warden/contracts';
import { abortableSleep, withScopedSignal } from '@warden/runtime';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import CircuitBreaker from 'opossum';
import type { RawToolCall, TokenCounter } from '../decide/types.js';
import { ModelCallError, type ModelCallFailureClass } from '../errors.js';
import type { ModelClient, ModelReply, ModelRequest } from './model-client.js';
import { countCompletionTokens } from './tokens.js';

/** Settings of the model adapter. */
export interface OpenAiModelSettings {
  /** OPENAI_BASE_URL: any OpenAI-compatible endpoint (the scripted model, a proxy, OpenAI itself). */
  readonly baseURL: string;
  readonly apiKey: string;
  /** Per HTTP attempt; when streaming, the whole stream of the attempt must arrive within it. */
  readonly timeoutMs: number;
  /** Retries after the first attempt, on 429, 5xx, timeouts and connection errors. */
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Ask for token logprobs (a second confidence signal). */
  readonly logprobs: boolean;
  /**
   * Stream the reply (SSE, with `stream_options.include_usage`) and assemble it into the same ModelReply. Usage is
   * the server's final usage chunk, or null when it sends none (the planner then counts the tokens itself).
   */
  readonly stream: boolean;
  readonly breaker: {
    readonly errorThresholdPercent: number;
    readonly volumeThreshold: number;
    readonly rollingWindowMs: number;
    readonly resetTimeoutMs: number;
  };
  /** Injectable sleep (tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable fetch (tests); the global fetch by default. */
  readonly fetch?: typeof fetch;
}

/** A failure's class and whether another attempt may help. */
export function classifyModelError(error: unknown): { errorClass: ModelCallFailureClass; retryable: boolean } {
  if (error instanceof APIConnectionTimeoutError) return { errorClass: 'timeout', retryable: true };
  if (error instanceof APIUserAbortError) return { errorClass: 'other', retryable: false };
  if (error instanceof APIConnectionError) return { errorClass: 'server_error', retryable: true };
  if (error instanceof APIError) {
    const status: unknown = error.status;
    if (typeof status !== 'number') return { errorClass: 'other', retryable: false };
    if (status === 429) return { errorClass: 'rate_limited', retryable: true };
    if (status >= 500 || status === 408 || status === 409) return { errorClass: 'server_error', retryable: true };
    return { errorClass: 'other', retryable: false };
  }
  return { errorClass: 'other', retryable: false };
}

function retryDelayMs(error: unknown, attempt: number, s: OpenAiModelSettings): number {
  const backoff = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** (attempt - 1));
  const jittered = backoff / 2 + Math.random() * (backoff / 2);
  const headers: Headers | undefined = error instanceof APIError ? (error.headers as Headers | undefined) : undefined;
  if (headers !== undefined) {
    const ms = Number(headers.get('retry-after-ms'));
    if (Number.isFinite(ms) && ms > 0) return Math.min(s.retryMaxMs, ms);
    const seconds = Number(headers.get('retry-after'));
    if (Number.isFinite(seconds) && seconds > 0) return Math.min(s.retryMaxMs, seconds * 1000);
  }
  return jittered;
}

function toParams(request: ModelRequest, logprobs: boolean): ChatCompletionCreateParamsNonStreaming {
  const messages: ChatCompletionMessageParam[] = request.messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: m.content ?? '' };
      case 'user':
        return { role: 'user', content: m.content ?? '' };
      case 'tool':
        return { role: 'tool', content: m.content ?? '', tool_call_id: m.toolCallId ?? '' };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content,
          ...(m.toolCalls !== undefined && m.toolCalls.length > 0
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        };
    }
  });
  return {
    model: request.model,
    messages,
    max_completion_tokens: request.maxTokens,
    ...(request.tools.length > 0
      ? { tools: request.tools.map((t) => ({ type: t.type, function: { ...t.function } })) }
      : {}),
    ...(logprobs ? { logprobs: true } : {}),
  };
}

/** What one successful attempt yields: the reply without the call's attempt count and duration. */
type AttemptReply = Omit<ModelReply, 'attempts' | 'durationMs'>;

/** Reasoning text some OpenAI-compatible servers send beside the content (DeepSeek, vLLM, Ollama, OpenRouter). */
interface ReasoningFields {
  readonly reasoning_content?: unknown;
  readonly reasoning?: unknown;
}

function reasoningOf(extra: ReasoningFields): string | null {
  if (typeof extra.reasoning_content === 'string') return extra.reasoning_content;
  if (typeof extra.reasoning === 'string') return extra.reasoning;
  return null;
}

function usageOf(u: CompletionUsage | null | undefined): TokenUsage | null {
  return u === undefined || u === null
    ? null
    : { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens };
}

function replyOfCompletion(completion: ChatCompletion): AttemptReply {
  const choice = completion.choices[0];
  const message = choice?.message;
  const toolCalls: RawToolCall[] = (message?.tool_calls ?? []).flatMap((c) =>
    c.type === 'function'
      ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }]
      : [{ id: c.id, name: c.custom.name, arguments: c.custom.input }],
  );
  return {
    content: message?.content ?? null,
    reasoning: reasoningOf((message ?? {}) as ReasoningFields),
    toolCalls,
    finishReason: choice?.finish_reason ?? null,
    usage: usageOf(completion.usage),
    logprobConfidence: logprobsToConfidence(choice?.logprobs?.content?.map((t) => t.logprob)),
  };
}

/**
 * Assembles a stream's chunks into the reply the non-streaming call returns: content and reasoning deltas
 * concatenated, tool calls by index (id and name as sent, arguments concatenated), the last finish_reason, the
 * content logprobs of every chunk, and the usage of the final usage chunk (null when the server sent none).
 */
/** Where a stream is cut: the completion tokens the request asked for, and how to count them. */
interface StreamLimit {
  readonly maxTokens: number;
  readonly tokens: TokenCounter;
}

async function replyOfStream(chunks: AsyncIterable<ChatCompletionChunk>, limit?: StreamLimit): Promise<AttemptReply> {
  let content: string | null = null;
  let reasoningContent: string | null = null;
  let reasoning: string | null = null;
  let finishReason: string | null = null;
  let usage: CompletionUsage | null = null;
  let logprobs: number[] | undefined;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  // A token is at least one character, so no count is needed before maxTokens characters have arrived; after
  // that the reply is counted every quarter of maxTokens characters, and cut once it holds more than maxTokens.
  let chars = 0;
  let nextCheck = limit?.maxTokens ?? Infinity;
  let cut = false;
  for await (const chunk of chunks) {
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (choice === undefined) continue;
    const delta = choice.delta as ChatCompletionChunk.Choice.Delta & ReasoningFields;
    if (typeof delta.content === 'string') content = (content ?? '') + delta.content;
    if (typeof delta.reasoning_content === 'string')
      reasoningContent = (reasoningContent ?? '') + delta.reasoning_content;
    if (typeof delta.reasoning === 'string') reasoning = (reasoning ?? '') + delta.reasoning;
    for (const part of delta.tool_calls ?? []) {
      const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
      if (part.id !== undefined && part.id !== '') call.id = part.id;
      if (part.function?.name !== undefined && part.function.name !== '') call.name = part.function.name;
      call.arguments += part.function?.arguments ?? '';
      calls.set(part.index, call);
    }
    const pieces = choice.logprobs?.content;
    if (pieces !== undefined && pieces !== null) (logprobs ??= []).push(...pieces.map((t) => t.logprob));
    if (choice.finish_reason !== null) finishReason = choice.finish_reason;
    chars +=
      (typeof delta.content === 'string' ? delta.content.length : 0) +
      (delta.tool_calls ?? []).reduce((n, part) => n + (part.function?.arguments?.length ?? 0), 0);
    if (limit !== undefined && chars >= nextCheck) {
      if (countCompletionTokens(content, [...calls.values()], limit.tokens) > limit.maxTokens) {
        cut = true;
        break; // leaving the iteration aborts the stream: nothing past the limit is read
      }
      nextCheck = chars + Math.max(1_024, Math.ceil(limit.maxTokens / 4));
    }
  }
  if (cut && limit !== undefined) {
    // What the server sent past max_completion_tokens is not kept: the reply is cut at it, as a server that keeps
    // to the limit would have cut it (finish_reason "length", which is never taken as an answer).
    const callTokens = countCompletionTokens(null, [...calls.values()], limit.tokens);
    content = content === null ? null : limit.tokens.truncate(content, Math.max(0, limit.maxTokens - callTokens));
    finishReason = 'length';
    usage = null;
  }
  return {
    content,
    reasoning: reasoningOf({ reasoning_content: reasoningContent, reasoning }),
    toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
    finishReason,
    usage: usageOf(usage),
    logprobConfidence: logprobsToConfidence(logprobs),
  };
}

/**
 * The model adapter over the official openai package. Each call runs attempts with a per-attempt timeout and
 * retries 429, 5xx, timeouts and connection errors with capped, jittered exponential backoff (honouring
 * retry-after-ms / retry-after); the client's own retries are off so attempts are counted here. The whole
 * retried call runs inside an opossum breaker: when too many calls fail (after their retries) the breaker opens and
 * calls fail fast with `breaker_open` until a probe passes. 4xx refusals other than 429 (bad request, unknown
 * model) are failures of the request, not of the model, and do not count toward the breaker.
 *
 * With `stream`, an attempt is the whole stream: a 429/5xx before it starts is retried as above; the stream must end
 * (with a finish_reason) within `timeoutMs` or the attempt is a `timeout`; a stream that breaks off is a connection
 * error; the caller's abort signal cancels it. Every failure goes through classifyModelError like the others.
 */
export function createOpenAiModel(settings: OpenAiModelSettings, counter?: TokenCounter): ModelClient {
  const client = new OpenAI({
    baseURL: settings.baseURL,
    apiKey: settings.apiKey,
    maxRetries: 0,
    timeout: settings.timeoutMs,
    ...(settings.fetch === undefined ? {} : { fetch: settings.fetch }),
  });
  const sleep = settings.sleep ?? abortableSleep;

  async function completeOnce(
    params: ChatCompletionCreateParamsNonStreaming,
    signal?: AbortSignal,
  ): Promise<AttemptReply> {
    // The openai client adds an abort listener to the signal it is given and never removes it: a call-scoped one.
    return withScopedSignal(signal, async (scoped) =>
      replyOfCompletion(await client.chat.completions.create(params, scoped === undefined ? {} : { signal: scoped })),
    );
  }

  /**
   * One streamed attempt. The openai client's timeout ends when the response starts, and an aborted stream ends its
   * iteration quietly, so the attempt keeps its own deadline and turns what went wrong into the error the
   * non-streaming call would have thrown (a timeout, a user abort, a connection error) for classifyModelError.
   */
  async function streamOnce(
    params: ChatCompletionCreateParamsNonStreaming,
    signal?: AbortSignal,
  ): Promise<AttemptReply> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), settings.timeoutMs);
    const attemptSignal = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    const failure = (error: unknown): Error => {
      if (signal?.aborted === true) return error instanceof APIUserAbortError ? error : new APIUserAbortError();
      if (deadline.signal.aborted) {
        return new APIConnectionTimeoutError({ message: `the stream did not end within ${settings.timeoutMs} ms` });
      }
      if (error instanceof OpenAIError) return error;
      return error instanceof Error
        ? new APIConnectionError({ message: `the stream broke off: ${error.message}`, cause: error })
        : new APIConnectionError({ message: `the stream broke off: ${String(error)}` });
    };
    let reply: AttemptReply;
    try {
      const stream = await client.chat.completions.create(
        { ...params, stream: true, stream_options: { include_usage: true } },
        { signal: attemptSignal },
      );
      reply = await replyOfStream(
        stream,
        counter === undefined || params.max_completion_tokens == null
          ? undefined
          : { maxTokens: params.max_completion_tokens, tokens: counter },
      );
    } catch (error) {
      throw failure(error);
    } finally {
      clearTimeout(timer);
    }
    if (attemptSignal.aborted) throw failure(undefined); // an aborted stream ends its iteration without an error
    if (reply.finishReason === null) {
      throw new APIConnectionError({ message: 'the stream ended without a finish_reason' });
    }
    return reply;
  }

  async function attempts(request: ModelRequest): Promise<ModelReply> {
    const started = performance.now();
    const params = toParams(request, settings.logprobs);
    const once = settings.stream ? streamOnce : completeOnce;
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = await once(params, request.signal);
        return { ...reply, attempts: attempt, durationMs: performance.now() - started };
      } catch (error) {
        const { errorClass, retryable } = classifyModelError(error);
        if (!retryable || attempt > settings.maxRetries || request.signal?.aborted === true) {
          throw new ModelCallError(`model call failed after ${attempt} attempt(s): ${(error as Error).message}`, {
            cause: error,
            errorClass,
            attempts: attempt,
            details: { transient: retryable },
          });
        }
        await sleep(retryDelayMs(error, attempt, settings), request.signal);
      }
    }
  }

  const breaker = new CircuitBreaker(attempts, {
    timeout: false,
    errorThresholdPercentage: settings.breaker.errorThresholdPercent,
    volumeThreshold: settings.breaker.volumeThreshold,
    rollingCountTimeout: settings.breaker.rollingWindowMs,
    resetTimeout: settings.breaker.resetTimeoutMs,
    // a refused request (4xx) says nothing about the model's health
    errorFilter: (error: unknown) => error instanceof ModelCallError && error.details['transient'] === false,
  });

  return {
    isOpen: () => breaker.opened,
    close: () => breaker.shutdown(),
    async complete(request) {
      try {
        return await breaker.fire(request);
      } catch (error) {
        if (error instanceof ModelCallError) throw error;
        if ((error as { code?: string }).code === 'EOPENBREAKER') {
          throw new ModelCallError('the model breaker is open', {
            cause: error,
            errorClass: 'breaker_open',
            attempts: 0,
          });
        }
        throw new ModelCallError(`model call failed: ${(error as Error).message}`, {
          cause: error,
          errorClass: 'other',
          attempts: 0,
        });
      }
    },
  };
}
