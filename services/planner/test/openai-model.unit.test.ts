import { getEventListeners, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '@warden/contracts';
import { startScriptedModel, type StartedScriptedModel } from '@warden/scripted-model/testing';
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countCompletionTokens,
  createOpenAiModel,
  loadPlannerConfig,
  ModelCallError,
  o200kCounter,
  type ModelClient,
  type ModelReply,
  type OpenAiModelSettings,
} from '../src/index.js';

/**
 * The model adapter against the scripted model, in process. A small proxy in front of it plays the servers the
 * scripted model does not: one that ignores `stream_options.include_usage`, one whose stream breaks off, and one
 * whose stream stalls. Its first path segment picks the behaviour: /<mode>/v1/chat/completions.
 */

type ProxyMode = 'no-usage' | 'break' | 'stall';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let scripted: StartedScriptedModel;
let proxy: Server;
let proxyOrigin: string;
/** Resolves when the stalling proxy has received a request (nothing sent yet). */
let received = deferred<undefined>();
/** Resolves when the client side of a stalled stream has gone away. */
let stalledClosed = deferred<undefined>();
let conversationCounter = 0;

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
}

async function handleProxy(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const [, mode, ...rest] = (request.url ?? '').split('/');
  if ((mode as ProxyMode) === 'stall') {
    response.once('close', () => stalledClosed.resolve(undefined));
    received.resolve(undefined);
  }
  const body = await readBody(request);
  if (mode === 'no-usage') delete body['stream_options']; // a server that ignores include_usage
  const upstream = await fetch(`${scripted.server.url}/${rest.join('/')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await upstream.text();
  response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
  if (mode === 'no-usage' || upstream.status !== 200) {
    response.end(text);
    return;
  }
  const events = text.split('\n\n').filter((e) => e !== '');
  // the role chunk and a first content chunk, on the wire before anything else happens
  await new Promise<void>((resolve, reject) =>
    response.write(`${events.slice(0, 2).join('\n\n')}\n\n`, (error) => (error ? reject(error) : resolve())),
  );
  if ((mode as ProxyMode) === 'break') {
    response.socket?.destroy();
    return;
  }
  // 'stall': send nothing more until the client goes away
}

beforeAll(async () => {
  scripted = await startScriptedModel();
  proxy = createServer((request, response) => {
    handleProxy(request, response).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyOrigin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy.closeAllConnections();
  proxy.close();
  await scripted.close();
});

function settings(overrides: Partial<OpenAiModelSettings> = {}): OpenAiModelSettings {
  return {
    baseURL: scripted.baseURL,
    apiKey: 'scripted',
    timeoutMs: 10_000,
    maxRetries: 5,
    retryBaseMs: 1,
    retryMaxMs: 50,
    logprobs: true,
    stream: false,
    breaker: { errorThresholdPercent: 50, volumeThreshold: 1_000, rollingWindowMs: 60_000, resetTimeoutMs: 30_000 },
    sleep: () => Promise.resolve(),
    ...overrides,
  };
}

const clients: ModelClient[] = [];
function adapter(overrides: Partial<OpenAiModelSettings> = {}): ModelClient {
  const client = createOpenAiModel(settings(overrides));
  clients.push(client);
  return client;
}
afterAll(() => {
  for (const client of clients) client.close();
});

/** A fresh conversation: a unique task message, so the scripted model's attempt counts never leak between tests. */
function conversation(): ChatMessage[] {
  conversationCounter += 1;
  return [
    { role: 'system', content: 'You are a careful agent.' },
    { role: 'user', content: `Please help (conversation ${conversationCounter}).` },
  ];
}

/** The reply as the planner uses it, without the wall time of the call. */
function comparable(reply: ModelReply): Omit<ModelReply, 'durationMs'> {
  const { durationMs: _durationMs, ...rest } = reply;
  return rest;
}

/** Appends the assistant turn and one tool result per tool call, as the planner does. */
function continueWith(messages: ChatMessage[], reply: ModelReply): ChatMessage[] {
  return [
    ...messages,
    { role: 'assistant', content: reply.content, toolCalls: reply.toolCalls.map((c) => ({ ...c })) },
    ...reply.toolCalls.map((c): ChatMessage => ({ role: 'tool', toolCallId: c.id, content: '{"ok":true}' })),
  ];
}

describe('the model adapter, streaming', () => {
  it('streams the same reply as the non-streaming call, turn by turn (content, tool calls, finish, usage, logprobs)', async () => {
    const plain = adapter();
    const streamed = adapter({ stream: true });
    const expected = [
      { finishReason: 'tool_calls', ids: ['call_refund_lookup'], names: ['customers.query'], confidence: 0.95 },
      { finishReason: 'tool_calls', ids: ['call_refund_update'], names: ['customers.update'], confidence: 0.88 },
      { finishReason: 'stop', ids: [], names: [], confidence: 0.93 },
    ];
    let messages = conversation();
    for (const turn of expected) {
      const request = { model: 'scripted:refund-happy', messages, tools: [], maxTokens: 1_000 };
      const a = await plain.complete(request);
      const b = await streamed.complete(request);
      expect(comparable(b)).toEqual(comparable(a));
      expect(b.finishReason).toBe(turn.finishReason);
      expect(b.toolCalls.map((c) => c.id)).toEqual(turn.ids);
      expect(b.toolCalls.map((c) => c.name)).toEqual(turn.names);
      expect(b.logprobConfidence).toBeCloseTo(turn.confidence, 9);
      expect(b.attempts).toBe(1);
      expect(b.usage).not.toBeNull();
      expect(b.usage!.promptTokens).toBeGreaterThan(20);
      expect(b.usage!.completionTokens).toBe(countCompletionTokens(b.content, b.toolCalls, o200kCounter));
      expect(b.usage!.totalTokens).toBe(b.usage!.promptTokens + b.usage!.completionTokens);
      messages = continueWith(messages, a);
    }
    expect(messages.filter((m) => m.role === 'assistant').at(-1)!.content).toContain('Refunded 42.50 USD');
  });

  it('assembles parallel tool calls by index, and an answer cut at max tokens', async () => {
    const plain = adapter();
    const streamed = adapter({ stream: true });
    const request = { model: 'scripted:support-digest', messages: conversation(), tools: [], maxTokens: 1_000 };
    const a = await plain.complete(request);
    const b = await streamed.complete(request);
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.toolCalls.map((c) => [c.id, c.name])).toEqual([
      ['call_digest_policy', 'knowledge.search'],
      ['call_digest_tickets', 'files.read'],
    ]);
    expect(JSON.parse(b.toolCalls[1]!.arguments)).toEqual({ path: '/exports/tickets-week-12.csv' });

    const first = await plain.complete({ ...request, model: 'scripted:huge-output' });
    const cut = {
      ...request,
      model: 'scripted:huge-output',
      messages: continueWith(request.messages, first),
      maxTokens: 50,
    };
    const c = await plain.complete(cut);
    const d = await streamed.complete(cut);
    expect(comparable(d)).toEqual(comparable(c));
    expect(d.finishReason).toBe('length');
    expect(d.usage!.completionTokens).toBe(50);
  });

  it('cuts a stream at max_completion_tokens when the server ignores it, reading nothing past the limit', async () => {
    // The scenario's server sends about 39,000 tokens with finish_reason "stop" whatever max_completion_tokens says.
    const request = { model: 'scripted:overrun-answer', messages: conversation(), tools: [], maxTokens: 200 };
    const client = createOpenAiModel(settings({ stream: true }), o200kCounter);
    clients.push(client);
    const cut = await client.complete(request);
    expect(cut.finishReason).toBe('length');
    expect(cut.usage).toBeNull();
    const tokens = countCompletionTokens(cut.content, [], o200kCounter);
    expect(tokens).toBeLessThanOrEqual(200);
    expect(tokens).toBeGreaterThan(150);
  }, 20_000); // the scripted server prepares the whole 200,000-character reply before it streams it

  it('gives usage null when the server sends no usage chunk, so the planner counts the stream itself', async () => {
    const messages = conversation();
    const request = { model: 'scripted:refund-happy', messages, tools: [], maxTokens: 1_000 };
    const withUsage = await adapter({ stream: true }).complete(request);
    const without = await adapter({ stream: true, baseURL: `${proxyOrigin}/no-usage/v1` }).complete(request);
    expect(without.usage).toBeNull();
    expect(withUsage.usage).not.toBeNull();
    expect({ ...comparable(without), usage: withUsage.usage }).toEqual(comparable(withUsage));
    // what planning.ts falls back to when usage is null: the same completion tokens the server bills
    expect(countCompletionTokens(without.content, without.toolCalls, o200kCounter)).toBe(
      withUsage.usage!.completionTokens,
    );
  });

  it('retries a 429 storm (and then 500s) before the stream starts, honouring retry-after-ms', async () => {
    const delays: number[] = [];
    const streamed = adapter({
      stream: true,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    const reply = await streamed.complete({
      model: 'scripted:rate-limit-storm',
      messages: conversation(),
      tools: [],
      maxTokens: 1_000,
    });
    expect(reply.attempts).toBe(6);
    expect(delays).toEqual([20, 20, 20, 10, 10]);
    expect(reply.finishReason).toBe('stop');
    expect(reply.content).toContain('Damaged items are refunded in full within 30 days of delivery.');
    expect(reply.usage).not.toBeNull();
    expect(reply.logprobConfidence).toBeCloseTo(0.9, 9);
  });

  it('gives up on a 429 storm longer than its retries, as rate_limited', async () => {
    const streamed = adapter({ stream: true, maxRetries: 1 });
    const failure = await streamed
      .complete({ model: 'scripted:rate-limit-storm', messages: conversation(), tools: [], maxTokens: 1_000 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ModelCallError);
    expect(failure).toMatchObject({ errorClass: 'rate_limited', attempts: 2, details: { transient: true } });
  });

  it('treats a stream that breaks off as a connection failure, retried then reported as server_error', async () => {
    const streamed = adapter({ stream: true, maxRetries: 2, baseURL: `${proxyOrigin}/break/v1` });
    const failure = await streamed
      .complete({ model: 'scripted:refund-happy', messages: conversation(), tools: [], maxTokens: 1_000 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ModelCallError);
    expect(failure).toMatchObject({ errorClass: 'server_error', attempts: 3, details: { transient: true } });
    expect((failure as Error).message).toContain('the stream broke off');
    expect((failure as Error).cause).toBeInstanceOf(APIConnectionError);
  });

  it('times out a stream that stalls past timeoutMs, per attempt', async () => {
    const streamed = adapter({ stream: true, maxRetries: 1, timeoutMs: 300, baseURL: `${proxyOrigin}/stall/v1` });
    const started = performance.now();
    const failure = await streamed
      .complete({ model: 'scripted:refund-happy', messages: conversation(), tools: [], maxTokens: 1_000 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ModelCallError);
    expect(failure).toMatchObject({ errorClass: 'timeout', attempts: 2, details: { transient: true } });
    expect((failure as Error).cause).toBeInstanceOf(APIConnectionTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('cancels a stream when the abort signal fires, before or after it started, without retrying', async () => {
    const cases = [
      { when: 'before the response', reason: undefined },
      { when: 'mid-stream', reason: undefined },
      { when: 'mid-stream', reason: new Error('the worker is draining') },
    ] as const;
    for (const { when, reason } of cases) {
      received = deferred();
      stalledClosed = deferred();
      const responded = deferred<undefined>();
      const streamed = adapter({
        stream: true,
        baseURL: `${proxyOrigin}/stall/v1`,
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          responded.resolve(undefined);
          return response;
        },
      });
      const controller = new AbortController();
      const call = streamed
        .complete({
          model: 'scripted:refund-happy',
          messages: conversation(),
          tools: [],
          maxTokens: 1_000,
          signal: controller.signal,
        })
        .catch((error: unknown) => error);
      await (when === 'mid-stream' ? responded.promise : received.promise);
      controller.abort(reason);
      const failure = await call;
      expect(failure, when).toBeInstanceOf(ModelCallError);
      expect(failure, when).toMatchObject({ errorClass: 'other', attempts: 1, details: { transient: false } });
      expect((failure as Error).cause, when).toBeInstanceOf(APIUserAbortError);
      await stalledClosed.promise; // the proxy saw the connection go away
    }
  });
});

describe("the model adapter and the caller's signal", () => {
  it('leaves no abort listener on a long-lived signal (a worker stop signal) after its calls, streaming or not', async () => {
    const worker = new AbortController();
    for (const stream of [false, true]) {
      const model = adapter({ stream });
      for (let i = 0; i < 3; i++) {
        const reply = await model.complete({
          model: 'scripted:refund-happy',
          messages: conversation(),
          tools: [],
          maxTokens: 1_000,
          signal: worker.signal,
        });
        expect(reply.finishReason).toBe('tool_calls');
      }
      expect(getEventListeners(worker.signal, 'abort'), `stream: ${stream}`).toHaveLength(0);
    }
  });
});

describe('PLANNER_STREAM', () => {
  it('turns streaming on for the model adapter; off by default; anything but true/false is refused', () => {
    expect(loadPlannerConfig({}).settings.model.stream).toBe(false);
    expect(loadPlannerConfig({ PLANNER_STREAM: 'true' }).settings.model.stream).toBe(true);
    expect(loadPlannerConfig({ PLANNER_STREAM: 'false' }).settings.model.stream).toBe(false);
    expect(() => loadPlannerConfig({ PLANNER_STREAM: 'yes' })).toThrow(/PLANNER_STREAM/);
  });
});
