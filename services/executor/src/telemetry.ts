import { ROOT_CONTEXT, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  GEN_AI_TOOL_TYPE_FUNCTION,
  GenAiAttributes as G,
  GenAiOperations,
  RuntimeSpanAttributes,
  WardenSpanAttributes as W,
  endSpan,
} from '@warden/runtime';

const tracer = trace.getTracer('@warden/executor');

/**
 * Starts the span of one tool execution as the OpenTelemetry GenAI conventions name it (`execute_tool <tool>`,
 * gen_ai.tool.* attributes), a child of the handling's span (`parent`). A no-op span while tracing is off. Arguments and
 * results are not recorded (they may hold personal data; the audit log has them).
 */
export function startToolSpan(
  parent: Span,
  t: {
    tool: string;
    description: string;
    actionId: string;
    taskId: string;
    attempt: number;
  },
): Span {
  const span = tracer.startSpan(
    `${GenAiOperations.executeTool} ${t.tool}`,
    { kind: SpanKind.INTERNAL },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  if (span.isRecording()) {
    span.setAttributes({
      [G.operationName]: GenAiOperations.executeTool,
      [G.toolName]: t.tool,
      [G.toolType]: GEN_AI_TOOL_TYPE_FUNCTION,
      [G.toolCallId]: t.actionId,
      [G.toolDescription]: t.description,
      [RuntimeSpanAttributes.taskId]: t.taskId,
      [W.toolDispatch]: t.attempt,
    });
  }
  return span;
}

/** Ends a tool execution's span: ok, or failed with its error class (error.type). */
export function endToolSpan(
  span: Span,
  outcome: { ok: true } | { ok: false; errorType: string; message: string },
): void {
  endSpan(span, outcome.ok ? undefined : outcome);
}
