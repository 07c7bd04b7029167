import { SpanStatusCode, type Span } from '@opentelemetry/api';

/**
 * The OpenTelemetry semantic-convention names Warden's spans use, in one place. The GenAI names are still
 * "incubating" in @opentelemetry/semantic-conventions (they may change in a minor release), so, as that package
 * advises, they are copied here rather than imported from its incubating entry; a unit test compares every copy
 * with the installed package, so a rename upstream shows up as a failing test, never as silently drifting spans.
 */

/** GenAI span attributes (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/). */
export const GenAiAttributes = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  conversationId: 'gen_ai.conversation.id',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolDescription: 'gen_ai.tool.description',
  agentName: 'gen_ai.agent.name',
} as const;

/** Well-known values of gen_ai.operation.name. */
export const GenAiOperations = {
  chat: 'chat',
  executeTool: 'execute_tool',
} as const;

/** Well-known values of gen_ai.provider.name (an OpenAI-compatible endpoint is spoken to as openai). */
export const GenAiProviders = {
  openai: 'openai',
} as const;

/** gen_ai.tool.type of Warden's tools: functions the model calls by name. */
export const GEN_AI_TOOL_TYPE_FUNCTION = 'function';

/** Stable (non-GenAI) attributes used next to them. */
export const CommonAttributes = {
  errorType: 'error.type',
  serviceName: 'service.name',
  serviceVersion: 'service.version',
} as const;

/** Warden's own attributes on the GenAI spans (beside RuntimeSpanAttributes of the handling spans). */
export const WardenSpanAttributes = {
  modelCallId: 'warden.model.call_id',
  modelCostUsd: 'warden.model.cost_usd',
  toolDispatch: 'warden.executor.dispatch',
} as const;

/** Ends a span: OK, or ERROR with its error.type and message. */
export function endSpan(span: Span, failure?: { readonly errorType: string; readonly message: string }): void {
  if (span.isRecording()) {
    if (failure === undefined) span.setStatus({ code: SpanStatusCode.OK });
    else {
      span.setAttribute(CommonAttributes.errorType, failure.errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    }
  }
  span.end();
}
