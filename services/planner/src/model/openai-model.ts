import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import CircuitBreaker from 'opossum';
import { logprobConfidence } from '../decide/confidence.js';
import type { RawToolCall } from '../decide/types.js';
import { ModelCallError, type ModelCallFailureClass } from '../errors.js';
import type { ModelClient, ModelReply, ModelRequest } from './model-client.js';

/** Settings of the model adapter. */
export interface OpenAiModelSettings {
  /** OPENAI_BASE_URL: any OpenAI-compatible endpoint (the scripted model, a proxy, OpenAI itself). */
  readonly baseURL: string;
  readonly apiKey: string;
  /** Per HTTP attempt. */
  readonly timeoutMs: number;
  /** Retries after the first attempt, on 429, 5xx, timeouts and connection errors. */
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Ask for token logprobs (a second confidence signal). */
  readonly logprobs: boolean;
  readonly breaker: {
    readonly errorThresholdPercent: number;
    readonly volumeThreshold: number;
    readonly rollingWindowMs: number;
    readonly resetTimeoutMs: number;
  };
  /** Injectable sleep (tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

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

function toReply(completion: ChatCompletion, attempts: number, durationMs: number): ModelReply {
  const choice = completion.choices[0];
  const message = choice?.message;
  const extra = (message ?? {}) as { reasoning_content?: unknown; reasoning?: unknown };
  const reasoning =
    typeof extra.reasoning_content === 'string'
      ? extra.reasoning_content
      : typeof extra.reasoning === 'string'
        ? extra.reasoning
        : null;
  const toolCalls: RawToolCall[] = (message?.tool_calls ?? []).flatMap((c) =>
    c.type === 'function'
      ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }]
      : [{ id: c.id, name: c.custom.name, arguments: c.custom.input }],
  );
  const u = completion.usage;
  return {
    content: message?.content ?? null,
    reasoning,
    toolCalls,
    finishReason: choice?.finish_reason ?? null,
    usage:
      u === undefined
        ? null
        : { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, totalTokens: u.total_tokens },
    logprobConfidence: logprobConfidence(choice?.logprobs?.content?.map((t) => t.logprob)),
    attempts,
    durationMs,
  };
}

/**
 * The model adapter over the official openai package. Each call runs attempts with a per-attempt timeout and
 * retries 429, 5xx, timeouts and connection errors with capped, jittered exponential backoff (honouring
 * retry-after-ms / retry-after); the client's own retries are off so attempts are counted here. The whole
 * retried call runs inside an opossum breaker: when too many calls fail (after their retries) the breaker opens and
 * calls fail fast with `breaker_open` until a probe passes. 4xx refusals other than 429 (bad request, unknown
 * model) are failures of the request, not of the model, and do not count toward the breaker.
 */
export function createOpenAiModel(settings: OpenAiModelSettings): ModelClient {
  const client = new OpenAI({
    baseURL: settings.baseURL,
    apiKey: settings.apiKey,
    maxRetries: 0,
    timeout: settings.timeoutMs,
  });
  const sleep = settings.sleep ?? abortableSleep;

  async function attempts(request: ModelRequest): Promise<ModelReply> {
    const started = performance.now();
    const params = toParams(request, settings.logprobs);
    for (let attempt = 1; ; attempt++) {
      try {
        const completion = await client.chat.completions.create(
          params,
          request.signal === undefined ? {} : { signal: request.signal },
        );
        return toReply(completion, attempt, performance.now() - started);
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
