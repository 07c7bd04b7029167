import type { ChatMessage, TokenUsage } from '@warden/contracts';
import type { RawToolCall } from '../decide/types.js';

/** A tool as offered to the model (OpenAI function-tool shape). */
export interface OfferedTool {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description: string;
    readonly parameters: Record<string, unknown>;
  };
}

/** One model call. */
export interface ModelRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly OfferedTool[];
  readonly maxTokens: number;
  readonly signal?: AbortSignal;
}

/** The model's reply. */
export interface ModelReply {
  readonly content: string | null;
  /** Reasoning text when the server returns it separately (reasoning_content / reasoning). */
  readonly reasoning: string | null;
  readonly toolCalls: readonly RawToolCall[];
  readonly finishReason: string | null;
  /** Usage as the server reported it; null when it sent none. */
  readonly usage: TokenUsage | null;
  /** exp(mean(logprob)) of the content tokens; null without logprobs. */
  readonly logprobConfidence: number | null;
  readonly attempts: number;
  readonly durationMs: number;
}

/** What the planner needs of a model: one call, retried and guarded inside. Rejects with a ModelCallError. */
export interface ModelClient {
  complete(request: ModelRequest): Promise<ModelReply>;
  /** True while the model breaker is open. */
  isOpen(): boolean;
  close(): void;
}
