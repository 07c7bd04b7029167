/**
 * Observability of the agent loop on the real stack (issue 20): the planner, guard and executor export the spans of
 * one task to an OTLP receiver (an HTTP server in this test) under one trace id, with the GenAI attributes; agent
 * metrics move when a tool breaker opens, a budget is refused, an escalation expires and one is decided; and every
 * metric the Grafana dashboard and the Prometheus alert rules use is exposed by the workers with its type.
 */
import { createAuditor, type Auditor } from '@warden/auditor';
import type { WardenEvent } from '@warden/contracts';
import { GenAiAttributes as G, TELEMETRY_OFF, startTelemetry, type Telemetry } from '@warden/runtime';
import {
  startOtlpReceiver,
  startTestPublisher,
  waitUntil,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@warden/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertExprs,
  dashboardExprs,
  exposedTypes,
  metricUses,
  problemsOf,
} from '../infra/observability/metrics-used.js';
import { startPipeline, type Pipeline } from '../infra/pipeline.js';
import { stack } from './support/index.js';

/** A person's escalations here expire this soon (the expiry test waits for it). */
const ESCALATION_TTL_MS = 8_000;
const ends = ['TaskCompleted', 'TaskFailed', 'TaskHalted'];

describe('traces and agent metrics of the agent loop', () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry;
  let p: Pipeline;
  let auditor: Auditor;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    telemetry = startTelemetry(
      { ...TELEMETRY_OFF, tracesUrl: receiver.url, sampler: 'parentbased_always_on' },
      { serviceName: 'warden-pipeline' },
    );
    p = await startPipeline(stack(), 'warn', 0, { guardEscalationTtlMs: ESCALATION_TTL_MS });
    auditor = createAuditor({
      config: {
        runtime: p.config,
        apiKeys: [{ tenantId: 'tenant-demo', key: 'obs-test-key-0123456789' }],
        apiPort: 0,
        apiHost: '127.0.0.1',
        checkpointKey: 'obs-checkpoint-key-0123456789abcdef0123',
        checkpointIntervalMs: 3_600_000,
        settleMs: 100,
        maxTasksInMemory: 1_000,
      },
    });
    await auditor.start();
  }, 180_000);

  afterAll(async () => {
    await auditor?.close();
    await p?.close();
    await telemetry?.shutdown();
    await receiver?.close();
  });

  /** Every worker's /metrics (the four of the pipeline and the auditor's), scraped now. */
  async function scrape(): Promise<Map<string, string>> {
    const addresses = [
      ...p.workers.map((w) => [w.name, w.httpAddress()!] as const),
      ['auditor', auditor.apiAddress()!] as const,
    ];
    const out = new Map<string, string>();
    for (const [name, a] of addresses) {
      const res = await fetch(`http://${a.host}:${a.port}/metrics`);
      expect(res.status, name).toBe(200);
      out.set(name, await res.text());
    }
    return out;
  }

  /** The sum of a metric's samples whose labels include `labels`, over every worker. */
  async function valueOf(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const text of (await scrape()).values()) {
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
        const have = m[1] ?? '';
        if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[2]);
      }
    }
    return sum;
  }

  it("one task's spans reach the OTLP receiver from the planner, the guard and the executor, under one trace id, with GenAI attributes", async () => {
    const taskId = 'obs-refund';
    await p.submit(taskId, 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
    });
    const end = await p.waitFor(taskId, (e) => ends.includes(e.type));
    expect(end.type).toBe('TaskCompleted');
    const mine = (s: ReceivedSpan): boolean =>
      s.attributes['warden.task.id'] === taskId || s.attributes[G.conversationId] === taskId;
    // Spans are batched: wait until the task's last handlings (the answer's approval) and the tool calls are in.
    const spans = await waitUntil(
      () => {
        const got = receiver.spans().filter(mine);
        const workers = new Set(got.map((s) => s.attributes['warden.worker']));
        const tools = got.filter((s) => s.attributes[G.operationName] === 'execute_tool');
        return ['planner', 'guard', 'executor'].every((w) => workers.has(w)) && tools.length >= 2 && got;
      },
      { timeoutMs: 30_000, what: `the spans of ${taskId} from the planner, guard and executor` },
    );
    const handlings = spans.filter((s) => s.name.startsWith('process '));
    expect(new Set(spans.map((s) => s.traceId)), JSON.stringify(spans.map((s) => [s.name, s.traceId]))).toEqual(
      new Set([spans[0]!.traceId]),
    );
    // The handling of an event another worker produced is linked to the producer's span.
    const proposalHandling = handlings.find((s) => s.name === 'process ActionProposed')!;
    expect(proposalHandling.links.length).toBe(1);
    expect(spans.some((s) => s.spanId === proposalHandling.links[0]!.spanId)).toBe(true);
    expect(proposalHandling.parentSpanId).toBe(proposalHandling.links[0]!.spanId);

    const chats = spans.filter((s) => s.attributes[G.operationName] === 'chat');
    expect(chats.length).toBeGreaterThanOrEqual(2);
    for (const c of chats) {
      expect(c.name).toBe(`chat ${String(c.attributes[G.requestModel])}`);
      expect(c.attributes[G.requestModel]).toBe('scripted:pipeline-refund');
      expect(c.attributes[G.providerName]).toBe('openai');
      expect(c.attributes[G.usageInputTokens]).toBeGreaterThan(0);
      expect(c.attributes[G.usageOutputTokens]).toBeGreaterThan(0);
      // a child of the planner's handling
      expect(handlings.some((h) => h.spanId === c.parentSpanId && h.attributes['warden.worker'] === 'planner')).toBe(
        true,
      );
    }
    const tools = spans.filter((s) => s.attributes[G.operationName] === 'execute_tool');
    expect(tools.map((t) => t.attributes[G.toolName])).toEqual(['customers.query', 'payments.refund']);
    for (const t of tools) {
      expect(t.name).toBe(`execute_tool ${String(t.attributes[G.toolName])}`);
      expect(t.attributes[G.toolType]).toBe('function');
      expect(typeof t.attributes[G.toolCallId]).toBe('string');
    }
  });

  it('metrics move: a budget refused, a tool breaker opened, an escalation expired, one decided, a dead letter', async () => {
    const refusedBefore = await valueOf('warden_budget_reservations_refused_total', { budget: 'tokens' });
    const expiredBefore = await valueOf('warden_escalations_expired_total');
    const decidedBefore = await valueOf('warden_escalations_decided_total', { decision: 'approved' });
    const dlqBefore = await valueOf('warden_dlq_depth_messages');

    // a budget refused: the token budget cannot cover the next call
    await p.submit('obs-cost', 'pipeline-refund', {
      goal: 'Refund order ord_7731 of customer cus_1042: 42.50 USD for a damaged item.',
      input: { customerId: 'cus_1042', orderId: 'ord_7731', amountUsd: 42.5 },
      scope: { tools: ['customers.query', 'payments.refund'], resources: { collections: ['customers'] } },
      budgets: { maxTokens: 6_000, maxCostUsd: 1, maxSteps: 20, maxWallTimeMs: 600_000 },
    });
    await p.waitFor('obs-cost', (e) => e.type === 'BudgetExhausted');
    expect(await valueOf('warden_budget_reservations_refused_total', { budget: 'tokens' })).toBe(refusedBefore + 1);

    // an escalation nobody decides expires; another one a person approves
    const lowConfidence = {
      goal: 'Delete the duplicate account of j.doe@example.com (cus_2291)',
      input: { email: 'j.doe@example.com', customerId: 'cus_2291' },
      scope: { tools: ['customers.query', 'customers.delete'], resources: { collections: ['customers'] } },
    };
    await p.submit('obs-expire', 'low-confidence-delete', lowConfidence);
    await p.submit('obs-decide', 'low-confidence-delete', lowConfidence);
    const toDecide = await p.waitFor('obs-decide', (e) => e.type === 'EscalationRequested');
    if (toDecide.type !== 'EscalationRequested') throw new Error('unreachable');
    await p.approve('obs-decide', toDecide.data.escalationId);
    await waitUntil(
      async () => (await valueOf('warden_escalations_decided_total', { decision: 'approved' })) >= decidedBefore + 1,
      { what: 'the decision counted' },
    );
    expect(await valueOf('warden_escalation_time_to_decision_seconds_count', { decision: 'approved' })).toBe(
      decidedBefore + 1,
    );
    await p.waitFor('obs-expire', (e) => e.type === 'EscalationExpired', ESCALATION_TTL_MS + 30_000);
    // Counted once the service has recorded the outcome, which it does after publishing the event seen above.
    await waitUntil(async () => (await valueOf('warden_escalations_expired_total')) >= expiredBefore + 1, {
      what: 'the expiry counted',
    });
    expect(await valueOf('warden_escalations_opened_total', { source: 'guard' })).toBeGreaterThanOrEqual(2);

    // a tool failing across tasks opens its breaker (five failures in a row)
    expect(await valueOf('warden_breaker_state', { tool: 'files.read' })).toBe(0);
    for (const id of ['obs-tb-1', 'obs-tb-2', 'obs-tb-3', 'obs-tb-4']) {
      await p.submit(id, 'pipeline-missing-file', {
        goal: 'Summarise reports/q3.csv.',
        input: { path: 'reports/q3.csv' },
        scope: { tools: ['files.read'], resources: { paths: ['reports/**'] } },
      });
      await p.waitFor(id, (e: WardenEvent) => ends.includes(e.type));
    }
    await p.waitFor('obs-tb-4', () => p.events.events().some((e) => e.type === 'BreakerOpened'), 30_000);
    expect(await valueOf('warden_breaker_state', { tool: 'files.read' })).toBe(1);
    expect(
      await valueOf('warden_breaker_transitions_total', { tool: 'files.read', to: 'open' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await valueOf('warden_tool_calls_total', { tool: 'files.read', outcome: 'tool_error' })).toBe(5);

    // bytes that are no event: dead-lettered by the workers reading the tasks topic, counted in the DLQ's depth
    const publisher = await startTestPublisher(p.config);
    try {
      await publisher.sendRaw(`${p.config.topicPrefix}.tasks.v1`, 'obs-garbage', Buffer.from('not an event'));
    } finally {
      await publisher.close();
    }
    await waitUntil(async () => (await valueOf('warden_dlq_depth_messages')) >= dlqBefore + 2, {
      timeoutMs: 30_000,
      what: 'the dead letters of the planner and the guard counted in the DLQ depth',
    });
    expect(await valueOf('warden_audit_projection_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('every metric the dashboard and the alert rules use is exposed by the workers, with the type they need', async () => {
    const exposed = new Map<string, string>();
    for (const text of (await scrape()).values()) for (const [n, t] of exposedTypes(text)) exposed.set(n, t);
    const uses = [...dashboardExprs(), ...alertExprs()].flatMap(metricUses);
    expect(uses.length).toBeGreaterThan(30);
    expect(problemsOf(uses, exposed)).toEqual([]);
  });
});
