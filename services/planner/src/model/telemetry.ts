import { ROOT_CONTEXT, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  GenAiAttributes as G,
  GenAiOperations,
  GenAiProviders,
  RuntimeSpanAttributes,
  WardenSpanAttributes as W,
  endSpan,
} from '@warden/runtime';

const tracer = trace.getTracer('@warden/planner');

/** What a model call's span says before the call. */
export interface ModelSpanRequest {
  readonly model: string;
  readonly maxTokens: number;
  readonly taskId: string;
  readonly tenantId: string;
  readonly callId: string;
}

/**
 * Starts the span of one model call as the OpenTelemetry GenAI conventions name it (`chat <model>`, a client span,
 * gen_ai.* attributes), a child of the handling's span (`parent`). A no-op span while tracing is off.
 */
export function startModelSpan(r: ModelSpanRequest, parent: Span | undefined): Span {
  const span = tracer.startSpan(
    `${GenAiOperations.chat} ${r.model}`,
    { kind: SpanKind.CLIENT },
    parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent),
  );
  if (span.isRecording()) {
    span.setAttributes({
      [G.operationName]: GenAiOperations.chat,
      [G.providerName]: GenAiProviders.openai,
      [G.requestModel]: r.model,
      [G.requestMaxTokens]: r.maxTokens,
      [G.conversationId]: r.taskId,
      [RuntimeSpanAttributes.taskId]: r.taskId,
      [RuntimeSpanAttributes.tenantId]: r.tenantId,
      [W.modelCallId]: r.callId,
    });
  }
  return span;
}

/** Ends a model call's span with the usage charged (tokens as the planner counted them, never less than reported). */
export function endModelSpan(
  span: Span,
  reply: { finishReason: string | null; inputTokens: number; outputTokens: number; costUsd: number },
): void {
  if (span.isRecording()) {
    span.setAttributes({
      [G.usageInputTokens]: reply.inputTokens,
      [G.usageOutputTokens]: reply.outputTokens,
      ...(reply.finishReason === null ? {} : { [G.responseFinishReasons]: [reply.finishReason] }),
      [W.modelCostUsd]: reply.costUsd,
    });
  }
  endSpan(span);
}

/** Ends a model call's span with its failure class (error.type). */
export function failModelSpan(span: Span, errorClass: string, message: string): void {
  endSpan(span, { errorType: errorClass, message });
}
