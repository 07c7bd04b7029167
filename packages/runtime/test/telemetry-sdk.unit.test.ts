import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, TraceFlags, context, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { SamplingDecision, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import {
  CappedLabel,
  GenAiAttributes,
  GenAiOperations,
  OTHER_LABEL,
  TELEMETRY_OFF,
  TelemetryEnv,
  createPlannerMetrics,
  createRuntimeMetrics,
  loadConfig,
  samplerOf,
  startTelemetry,
  taskRootContext,
  telemetryConfigFrom,
} from '@warden/runtime';
import { newTask } from '@warden/contracts';
import { sampleTask } from '@warden/contracts/testing';
import { describe, expect, it } from 'vitest';
import { handlingLogFields } from '../src/worker/handling.js';

const draft = newTask(sampleTask(), { tenantId: 't1', taskId: 'task-1', producer: 'test' });
const envelope = { ...draft, prevHashes: [...draft.prevHashes] };
const configOf = (env: Record<string, string>) => telemetryConfigFrom(loadConfig(TelemetryEnv, env));

describe('the GenAI names of semconv.ts', () => {
  it('are the names of the installed semantic-conventions package (its incubating entry)', () => {
    const upstream: Record<keyof typeof GenAiAttributes, string> = {
      operationName: incubating.ATTR_GEN_AI_OPERATION_NAME,
      providerName: incubating.ATTR_GEN_AI_PROVIDER_NAME,
      requestModel: incubating.ATTR_GEN_AI_REQUEST_MODEL,
      requestMaxTokens: incubating.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      responseModel: incubating.ATTR_GEN_AI_RESPONSE_MODEL,
      responseFinishReasons: incubating.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
      usageInputTokens: incubating.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      usageOutputTokens: incubating.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      conversationId: incubating.ATTR_GEN_AI_CONVERSATION_ID,
      toolName: incubating.ATTR_GEN_AI_TOOL_NAME,
      toolCallId: incubating.ATTR_GEN_AI_TOOL_CALL_ID,
      toolType: incubating.ATTR_GEN_AI_TOOL_TYPE,
      toolDescription: incubating.ATTR_GEN_AI_TOOL_DESCRIPTION,
      agentName: incubating.ATTR_GEN_AI_AGENT_NAME,
    };
    expect(GenAiAttributes).toEqual(upstream);
    expect(GenAiOperations).toEqual({
      chat: incubating.GEN_AI_OPERATION_NAME_VALUE_CHAT,
      executeTool: incubating.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
    });
  });
});

describe('telemetry settings from the standard OTEL_* variables', () => {
  it('tracing is off without an endpoint, or when disabled', () => {
    expect(configOf({}).tracesUrl).toBeUndefined();
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl).toBe(
      undefined,
    );
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).tracesUrl).toBe(
      undefined,
    );
  });

  it('the base endpoint gets /v1/traces; the traces endpoint is used as it is; headers are parsed', () => {
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).tracesUrl).toBe('http://c:4318/v1/traces');
    const c = configOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%3Dcret, x=1',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      WARDEN_METRICS_MAX_TENANTS: '7',
    });
    expect(c).toMatchObject({
      tracesUrl: 'http://t:4318/custom',
      headers: { 'api-key': 's=cret', x: '1' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      maxTenantLabels: 7,
    });
  });

  it('refuses a sampler it does not know and a ratio outside 0..1', () => {
    expect(() => configOf({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => configOf({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});

describe('one trace per task', () => {
  it("a task's virtual root is the same for every worker, and another task's differs", () => {
    const a = trace.getSpanContext(taskRootContext(ROOT_CONTEXT, 'task-a'))!;
    const again = trace.getSpanContext(taskRootContext(ROOT_CONTEXT, 'task-a'))!;
    const b = trace.getSpanContext(taskRootContext(ROOT_CONTEXT, 'task-b'))!;
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(again.traceId).toBe(a.traceId);
    expect(b.traceId).not.toBe(a.traceId);
  });

  it('the sampler decides a task root by the ratio (alike in every worker), a real parent by its flag', () => {
    const none = samplerOf('parentbased_traceidratio', 0);
    const all = samplerOf('parentbased_traceidratio', 1);
    const root = taskRootContext(ROOT_CONTEXT, 'task-a');
    const traceId = trace.getSpanContext(root)!.traceId;
    const decide = (s: ReturnType<typeof samplerOf>, ctx = root) =>
      s.shouldSample(ctx, traceId, 'process', SpanKind.CONSUMER, {}, []).decision;
    expect(decide(none)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(all)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const sampledParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    expect(decide(none, sampledParent)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });
});

describe('startTelemetry', () => {
  it('off: nothing starts and spans are no-ops', async () => {
    const t = startTelemetry(TELEMETRY_OFF, { serviceName: 'x' });
    expect(t.enabled).toBe(false);
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    await t.shutdown();
  });

  it('on: spans are exported with the service name, and handling logs carry trace_id and span_id', async () => {
    const finished: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (spans, done) => {
        finished.push(...spans);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: () => Promise.resolve(),
    };
    const t = startTelemetry(TELEMETRY_OFF, { serviceName: 'planner', exporter });
    try {
      const span = trace.getTracer('t').startSpan('process TaskSubmitted');
      expect(span.isRecording()).toBe(true);
      const fields = handlingLogFields(envelope, span);
      expect(fields).toMatchObject({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
      trace.getTracer('t').startSpan('child', {}, trace.setSpan(context.active(), span)).end();
      span.end();
    } finally {
      await t.shutdown();
    }
    const spans = [...finished].sort((a, b) => a.name.localeCompare(b.name));
    expect(spans.map((s) => s.name).sort()).toEqual(['child', 'process TaskSubmitted']);
    expect(spans[0]!.resource.attributes['service.name']).toBe('planner');
    const [child, parent] = spans;
    expect(child!.parentSpanContext?.spanId).toBe(parent!.spanContext().spanId);
    // shut down: the API is a no-op again
    expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
    expect(handlingLogFields(envelope, trace.getTracer('t').startSpan('off'))).not.toHaveProperty('trace_id');
  });
});

describe('agent metric labels stay bounded', () => {
  it('tenants past the cap are counted as other', () => {
    const cap = new CappedLabel(2);
    expect(['a', 'b', 'c', 'a', 'd'].map((t) => cap.of(t))).toEqual(['a', 'b', OTHER_LABEL, 'a', OTHER_LABEL]);
  });

  it('on /metrics: tokens and cost by model and tenant (capped), loop counters present from the start', async () => {
    const metrics = createRuntimeMetrics('planner');
    const planner = createPlannerMetrics(metrics.meter, 1);
    const call = { model: 'gpt-x', inputTokens: 10, outputTokens: 4, costUsd: 0.5, durationS: 0.2, ok: true };
    planner.modelCall({ ...call, tenantId: 't1' });
    planner.modelCall({ ...call, tenantId: 't2' });
    planner.modelCall({ ...call, tenantId: 't3' });
    const server = createServer((req, res) => metrics.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^# TYPE warden_model_tokens_total counter$/m);
      expect(text).toMatch(/warden_model_tokens_total\{[^}]*tenant="t1"[^}]*token_type="input"[^}]*\} 10$/m);
      expect(text).toMatch(/warden_model_tokens_total\{[^}]*tenant="other"[^}]*token_type="output"[^}]*\} 8$/m);
      expect(text).not.toContain('tenant="t2"');
      expect(text).toMatch(/warden_model_cost_usd_total\{[^}]*tenant="other"[^}]*\} 1$/m);
      expect(text).toMatch(/warden_loops_detected_total\{[^}]*kind="oscillation"[^}]*\} 0$/m);
    } finally {
      server.close();
      await metrics.shutdown();
    }
  });
});
