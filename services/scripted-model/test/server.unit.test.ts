import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAnswerContent, decodeToolTurnContent } from '@warden/contracts';
import {
  BUNDLED_SCENARIOS_DIR,
  createScriptedModelServer,
  LifecycleError,
  loadScenarios,
  parseScenario,
  type ScriptedModelServer,
} from '@warden/scripted-model';

const FIXED_NOW_MS = Date.UTC(2025, 0, 2, 3, 4, 5);

const inline = [
  parseScenario({
    id: 'strict-end',
    description: 'one answer, then refuse',
    onExhausted: 'error',
    steps: [{ kind: 'answer', content: 'done', confidence: 0.9, reasoning: 'r' }],
  }),
  parseScenario({
    id: 'slow',
    description: 'answers after a long delay',
    steps: [{ kind: 'answer', content: 'late', confidence: 0.9, reasoning: 'r', delayMs: 30_000 }],
  }),
  parseScenario({
    id: 'tiny-window',
    description: 'a 20-token context window',
    contextWindowTokens: 20,
    steps: [{ kind: 'answer', content: 'ok', confidence: 0.9, reasoning: 'r' }],
  }),
  parseScenario({
    id: 'plain-503',
    description: 'one 503 without retry-after, then an answer',
    steps: [{ kind: 'answer', content: 'ok', confidence: 0.9, reasoning: 'r', failures: [{ status: 503, times: 1 }] }],
  }),
];

let server: ScriptedModelServer;
let client: OpenAI;

beforeAll(async () => {
  const scenarios = [...(await loadScenarios(BUNDLED_SCENARIOS_DIR)), ...inline];
  server = createScriptedModelServer({ scenarios, now: () => FIXED_NOW_MS });
  await server.listen({ port: 0 });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'scripted', maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

let conversationCounter = 0;
/** A fresh conversation: a unique user message, so attempt counts never leak between tests. */
function conversation(text = 'Please help.'): ChatCompletionMessageParam[] {
  conversationCounter += 1;
  return [
    { role: 'system', content: 'You are a careful agent.' },
    { role: 'user', content: `${text} (conversation ${conversationCounter})` },
  ];
}

/** Appends the assistant turn and one tool result per tool call, as a planner would. */
function continueWith(
  messages: ChatCompletionMessageParam[],
  completion: ChatCompletion,
  toolResult: string,
): ChatCompletionMessageParam[] {
  const message = completion.choices[0]!.message;
  const next: ChatCompletionMessageParam[] = [...messages, message];
  for (const call of message.tool_calls ?? []) next.push({ role: 'tool', tool_call_id: call.id, content: toolResult });
  return next;
}

function functionCall(completion: ChatCompletion, index = 0): { id: string; name: string; arguments: string } {
  const call = completion.choices[0]!.message.tool_calls?.[index];
  if (call === undefined || call.type !== 'function') throw new Error(`no function tool call at ${index}`);
  return { id: call.id, name: call.function.name, arguments: call.function.arguments };
}

describe('chat completions with the openai client', () => {
  it('plays a multi-step script by the number of assistant messages, ending in an answer with claims', async () => {
    let messages = conversation('Refund order ord_7731 of customer cus_1042.');
    const first = await client.chat.completions.create({ model: 'scripted:refund-happy', messages });
    expect(functionCall(first).name).toBe('customers.query');
    expect(JSON.parse(functionCall(first).arguments)).toEqual({ collection: 'customers', filter: { id: 'cus_1042' } });

    messages = continueWith(messages, first, JSON.stringify([{ id: 'cus_1042', name: 'Jane Doe' }]));
    const second = await client.chat.completions.create({ model: 'scripted/refund-happy', messages });
    expect(functionCall(second).name).toBe('customers.update');
    expect(functionCall(second).id).toBe('call_refund_update');

    messages = continueWith(messages, second, JSON.stringify({ matched: 1, modified: 1 }));
    const third = await client.chat.completions.create({ model: 'scripted:refund-happy', messages });
    const choice = third.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.tool_calls).toBeUndefined();
    const decoded = decodeAnswerContent(choice.message.content);
    expect(decoded).toMatchObject({
      ok: true,
      envelope: { answer: 'Refunded 42.50 USD for order ord_7731 to customer cus_1042.', confidence: 0.93 },
    });
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.envelope.claims[0]?.evidence[0]).toEqual({
      kind: 'tool_result',
      ref: 'call_refund_update',
      quote: 'cus_1042',
    });
  });

  it('plays the next step of a windowed conversation (old turns replaced by a summary), not an earlier one', async () => {
    let messages = conversation('Write the weekly support digest.');
    let lastTurn: ChatCompletionMessageParam[] = [];
    for (let turn = 0; turn < 3; turn++) {
      const completion = await client.chat.completions.create({ model: 'scripted:support-digest', messages });
      const next = continueWith(messages, completion, '{"ok":true}');
      lastTurn = next.slice(messages.length);
      messages = next;
    }
    const windowed: ChatCompletionMessageParam[] = [
      ...messages.slice(0, 2),
      { role: 'user', content: 'Summary of earlier turns: read the policy and the tickets, wrote the digest.' },
      ...lastTurn,
    ];
    const { data, response } = await client.chat.completions
      .create({ model: 'scripted:support-digest', messages: windowed })
      .withResponse();
    expect(response.headers.get('x-scripted-step')).toBe('3');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(decodeAnswerContent(data.choices[0]!.message.content)).toMatchObject({
      ok: true,
      envelope: { answer: expect.stringContaining('Wrote the week 12 digest') },
    });
  });

  it('returns the exact chat.completion shape, with the confidence envelope next to tool_calls', async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'scripted:low-confidence-delete', messages: conversation() })
      .withResponse();
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(data.id).toMatch(/^chatcmpl-[0-9a-f]{29}$/);
    expect(data.object).toBe('chat.completion');
    expect(data.created).toBe(Math.floor(FIXED_NOW_MS / 1000));
    expect(data.model).toBe('scripted:low-confidence-delete');
    expect(data.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(data.choices).toHaveLength(1);
    const choice = data.choices[0]!;
    expect(choice).toMatchObject({ index: 0, finish_reason: 'tool_calls', logprobs: null });
    expect(choice.message).toMatchObject({ role: 'assistant', refusal: null });
    expect(choice.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_dupe_lookup$/),
        type: 'function',
        function: {
          name: 'customers.query',
          arguments: '{"collection":"customers","filter":{"email":"j.doe@example.com"}}',
        },
      },
    ]);
    expect(decodeToolTurnContent(choice.message.content)).toEqual({
      ok: true,
      envelope: { reasoning: 'Find the accounts that share this email.', confidence: 0.85 },
    });
    expect(data.usage).toEqual({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      total_tokens: data.usage!.prompt_tokens + data.usage!.completion_tokens,
    });
  });

  it('carries the low confidence of a risky delete on its turn', async () => {
    let messages = conversation();
    const lookup = await client.chat.completions.create({ model: 'scripted:low-confidence-delete', messages });
    messages = continueWith(messages, lookup, '[{"id":"cus_2291"},{"id":"cus_1187"}]');
    const del = await client.chat.completions.create({ model: 'scripted:low-confidence-delete', messages });
    expect(functionCall(del).name).toBe('customers.delete');
    expect(decodeToolTurnContent(del.choices[0]!.message.content)).toMatchObject({
      ok: true,
      envelope: { confidence: 0.3 },
    });
  });

  it('passes malformed arguments through as the raw string, then branches on the tool result', async () => {
    const messages = conversation();
    const first = await client.chat.completions.create({ model: 'scripted:malformed-args', messages });
    const raw = functionCall(first).arguments;
    expect(raw).toBe('{"collection": "customers", "id": "cus_1042", "set": {"plan": "pro"');
    expect(() => JSON.parse(raw) as unknown).toThrow(SyntaxError);

    const onError = continueWith(messages, first, '{"error":"arguments are not valid JSON"}');
    const corrected = await client.chat.completions.create({ model: 'scripted:malformed-args', messages: onError });
    expect(JSON.parse(functionCall(corrected).arguments)).toEqual({
      collection: 'customers',
      id: 'cus_1042',
      set: { plan: 'pro' },
    });

    const onSuccess = continueWith(messages, first, '{"matched":1,"modified":1}');
    const answered = await client.chat.completions.create({ model: 'scripted:malformed-args', messages: onSuccess });
    expect(answered.choices[0]!.finish_reason).toBe('stop');
  });

  it('sends parallel tool calls in one turn', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted:support-digest',
      messages: conversation(),
    });
    expect(
      completion.choices[0]!.message.tool_calls?.map((c) => (c.type === 'function' ? c.function.name : c.type)),
    ).toEqual(['knowledge.search', 'files.read']);
  });

  it('repeats the last step forever by default, with fresh tool call ids and identical arguments', async () => {
    let messages = conversation();
    const seen: { id: string; arguments: string }[] = [];
    for (let turn = 0; turn < 5; turn += 1) {
      const completion = await client.chat.completions.create({ model: 'scripted:retry-loop', messages });
      const call = functionCall(completion);
      expect(call.name).toBe('http.get');
      seen.push({ id: call.id, arguments: call.arguments });
      messages = continueWith(messages, completion, '{"error":"connect ECONNREFUSED"}');
    }
    expect(new Set(seen.map((s) => s.arguments)).size).toBe(1);
    expect(new Set(seen.map((s) => s.id)).size).toBe(5);
  });

  it('refuses a turn past the end when onExhausted is "error"', async () => {
    const messages = conversation();
    const answer = await client.chat.completions.create({ model: 'scripted:strict-end', messages });
    const next = [...messages, answer.choices[0]!.message, { role: 'user' as const, content: 'and?' }];
    const error = await client.chat.completions
      .create({ model: 'scripted:strict-end', messages: next })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('scenario_exhausted');
  });

  it('returns empty content without an envelope for the empty-answer script', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted:empty-answer',
      messages: conversation(),
    });
    expect(completion.choices[0]!.message.content).toBe('');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(0);
    expect(decodeAnswerContent(completion.choices[0]!.message.content)).toEqual({ ok: false, reason: 'empty content' });
  });

  it('makes the huge-output answer huge, and cuts it at max_completion_tokens with finish_reason "length"', async () => {
    let messages = conversation();
    const read = await client.chat.completions.create({ model: 'scripted:huge-output', messages });
    messages = continueWith(messages, read, 'order_id,customer,amount_usd\n'.repeat(1000));
    const huge = await client.chat.completions.create({ model: 'scripted:huge-output', messages });
    expect(huge.choices[0]!.message.content!.length).toBeGreaterThan(300_000);
    expect(huge.usage!.completion_tokens).toBeGreaterThan(50_000);

    const cut = await client.chat.completions.create({
      model: 'scripted:huge-output',
      messages,
      max_completion_tokens: 100,
    });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(cut.usage!.completion_tokens).toBeLessThanOrEqual(100);
    expect(huge.choices[0]!.message.content!.startsWith(cut.choices[0]!.message.content!)).toBe(true);
  });

  it('answers 404 model_not_found for an unknown scenario or a non-scripted model', async () => {
    for (const model of ['scripted:no-such-scenario', 'gpt-4o']) {
      const error = await client.chat.completions.create({ model, messages: conversation() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const apiError = error as InstanceType<typeof OpenAI.NotFoundError>;
      expect(apiError.status).toBe(404);
      expect(apiError.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
    }
  });

  it('refuses a prompt over the scenario context window with context_length_exceeded', async () => {
    const error = await client.chat.completions
      .create({ model: 'scripted:tiny-window', messages: conversation('word '.repeat(50)) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
  });
});

describe('scripted failures', () => {
  it('429 x3 then 500 x2 then the answer, through the openai client own retries', async () => {
    const retrying = new OpenAI({ baseURL: server.baseURL, apiKey: 'scripted', maxRetries: 5 });
    const { data, response } = await retrying.chat.completions
      .create({ model: 'scripted:rate-limit-storm', messages: conversation() })
      .withResponse();
    expect(response.headers.get('x-scripted-attempt')).toBe('5');
    expect(decodeAnswerContent(data.choices[0]!.message.content)).toMatchObject({
      ok: true,
      envelope: { confidence: 0.9 },
    });
  });

  it('fails the same request in order without client retries, each error OpenAI-shaped, then succeeds', async () => {
    const messages = conversation();
    const call = () =>
      client.chat.completions.create({ model: 'scripted:rate-limit-storm', messages }).catch((e: unknown) => e);
    for (let i = 0; i < 3; i += 1) {
      const error = await call();
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
      expect(apiError.code).toBe('rate_limit_exceeded');
      expect(apiError.headers.get('retry-after-ms')).toBe('20');
      expect(apiError.headers.get('retry-after')).toBe('1');
    }
    for (let i = 0; i < 2; i += 1) {
      const error = await call();
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as InstanceType<typeof OpenAI.InternalServerError>).error).toMatchObject({ type: 'server_error' });
    }
    const ok = await call();
    expect(ok).not.toBeInstanceOf(Error);
    // A different conversation has its own attempt count: it starts with a 429 again.
    const other = await client.chat.completions
      .create({ model: 'scripted:rate-limit-storm', messages: conversation() })
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('sends 503 without retry-after when the script gives none', async () => {
    const error = await client.chat.completions
      .create({ model: 'scripted:plain-503', messages: conversation() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const apiError = error as InstanceType<typeof OpenAI.InternalServerError>;
    expect(apiError.status).toBe(503);
    expect(apiError.headers.get('retry-after')).toBeNull();
  });

  it('holds a delayed step past the client timeout and lets go when the client gives up', async () => {
    const impatient = new OpenAI({ baseURL: server.baseURL, apiKey: 'scripted', maxRetries: 0, timeout: 200 });
    const started = Date.now();
    const error = await impatient.chat.completions
      .create({ model: 'scripted:slow', messages: conversation() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('streaming', () => {
  it('streams content chunks, a finish chunk and a final usage chunk, then [DONE]', async () => {
    const messages = conversation();
    const plain = await client.chat.completions.create({ model: 'scripted:refund-happy', messages: [...messages] });
    expect(plain.choices[0]!.finish_reason).toBe('tool_calls');

    const stream = await client.chat.completions.create({
      model: 'scripted:refund-happy',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === plain.id)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(plain.choices[0]!.message.content);
    const finish = chunks.filter(
      (c) => c.choices[0]?.finish_reason !== null && c.choices[0]?.finish_reason !== undefined,
    );
    expect(finish.map((c) => c.choices[0]!.finish_reason)).toEqual(['tool_calls']);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(plain.usage);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('omits usage without include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'scripted:refund-happy',
      messages: conversation(),
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it('streams tool calls that the openai stream helper assembles into the same message', async () => {
    const messages = conversation();
    const plain = await client.chat.completions.create({ model: 'scripted:support-digest', messages });
    const final = await client.chat.completions
      .stream({ model: 'scripted:support-digest', messages, stream_options: { include_usage: true } })
      .finalChatCompletion();
    expect(final.choices[0]!.message.tool_calls).toEqual(plain.choices[0]!.message.tool_calls);
    expect(final.choices[0]!.message.content).toBe(plain.choices[0]!.message.content);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.usage).toEqual(plain.usage);
  });

  it('streams malformed arguments unchanged', async () => {
    const final = await client.chat.completions
      .stream({ model: 'scripted:malformed-args', messages: conversation() })
      .finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls?.[0];
    expect(call?.function.arguments).toBe('{"collection": "customers", "id": "cus_1042", "set": {"plan": "pro"');
  });
});

describe('logprobs', () => {
  it('gives every content token logprob ln(confidence), with exact bytes', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted:low-confidence-delete',
      messages: conversation(),
      logprobs: true,
      top_logprobs: 2,
    });
    const choice = completion.choices[0]!;
    const entries = choice.logprobs?.content ?? [];
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.map((e) => e.token).join('')).toBe(choice.message.content);
    for (const entry of entries) {
      expect(Math.exp(entry.logprob)).toBeCloseTo(0.85, 12);
      expect(Buffer.from(entry.bytes!).toString('utf8')).toBe(entry.token);
      expect(entry.top_logprobs).toEqual([{ token: entry.token, logprob: entry.logprob, bytes: entry.bytes }]);
    }
    expect(choice.logprobs?.refusal).toBeNull();
  });

  it('keeps multi-byte characters whole and sends logprobs in stream chunks too', async () => {
    const local = createScriptedModelServer({
      scenarios: [
        parseScenario({
          id: 'unicode',
          description: 'non-ASCII answer',
          steps: [{ kind: 'answer', content: 'Café 🎉 naïve — 東京', confidence: 0.6, reasoning: 'r' }],
        }),
      ],
    });
    await local.listen();
    try {
      const c = new OpenAI({ baseURL: local.baseURL, apiKey: 'scripted', maxRetries: 0 });
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
      const plain = await c.chat.completions.create({ model: 'scripted:unicode', messages, logprobs: true });
      const entries = plain.choices[0]!.logprobs!.content!;
      expect(entries.map((e) => e.token).join('')).toBe(plain.choices[0]!.message.content);
      expect(entries.every((e) => !e.token.includes('\uFFFD') && e.top_logprobs.length === 0)).toBe(true);

      const stream = await c.chat.completions.create({
        model: 'scripted:unicode',
        messages,
        logprobs: true,
        stream: true,
      });
      const streamed = [];
      for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      expect(streamed).toEqual(entries);
    } finally {
      await local.close();
    }
  });

  it('returns logprobs.content null on a tool-call turn without content', async () => {
    const local = createScriptedModelServer({
      scenarios: [
        parseScenario({
          id: 'bare-call',
          description: 'tool call without envelope',
          steps: [
            {
              kind: 'tool_call',
              name: 'files.read',
              arguments: { path: '/a' },
              envelope: 'none',
              confidence: 0.5,
              reasoning: '',
            },
          ],
        }),
      ],
    });
    await local.listen();
    try {
      const c = new OpenAI({ baseURL: local.baseURL, apiKey: 'scripted', maxRetries: 0 });
      const completion = await c.chat.completions.create({
        model: 'scripted:bare-call',
        messages: [{ role: 'user', content: 'read /a' }],
        logprobs: true,
      });
      expect(completion.choices[0]!.message.content).toBeNull();
      expect(completion.choices[0]!.logprobs).toEqual({ content: null, refusal: null });
    } finally {
      await local.close();
    }
  });
});

describe('usage', () => {
  it('counts prompt tokens with the OpenAI recipe: 3 per message + role + content, + 3 priming', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted:strict-end',
      messages: [{ role: 'user', content: 'hello' }],
    });
    // 3 (message) + 1 ("user") + 1 ("hello") + 3 (priming)
    expect(completion.usage?.prompt_tokens).toBe(8);
  });

  it('is deterministic: the same request gets the same body; more context costs more tokens', async () => {
    const messages = conversation('Refund order ord_7731 of customer cus_1042.');
    const tools = [
      { type: 'function' as const, function: { name: 'customers.query', parameters: { type: 'object' } } },
    ];
    const a = await client.chat.completions.create({ model: 'scripted:refund-happy', messages, tools });
    const b = await client.chat.completions.create({ model: 'scripted:refund-happy', messages, tools });
    expect(b).toEqual(a);
    const withoutTools = await client.chat.completions.create({ model: 'scripted:refund-happy', messages });
    expect(withoutTools.usage!.prompt_tokens).toBeLessThan(a.usage!.prompt_tokens);
    expect(withoutTools.usage!.completion_tokens).toBe(a.usage!.completion_tokens);

    const longer = continueWith(messages, a, 'x '.repeat(100));
    const c = await client.chat.completions.create({ model: 'scripted:refund-happy', messages: longer, tools });
    expect(c.usage!.prompt_tokens).toBeGreaterThan(a.usage!.prompt_tokens + 100);
  });
});

describe('other routes and lifecycle', () => {
  it('lists scenarios as models and retrieves one', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('scripted:refund-happy');
    expect(ids).toContain('scripted:empty-answer');
    expect(await client.models.retrieve('scripted:retry-loop')).toMatchObject({
      id: 'scripted:retry-loop',
      object: 'model',
    });
    await expect(client.models.retrieve('scripted:nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('serves health and readiness, and OpenAI-shaped errors for bad requests and unknown URLs', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const bad = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted:refund-happy' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages' } });

    const notJson = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const unknown = await fetch(`${server.baseURL}/embeddings`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_url' } });
  });

  it('listens once, closes idempotently, and aborts a scripted delay on close', async () => {
    const local = createScriptedModelServer({ scenarios: inline });
    expect(() => local.url).toThrow(LifecycleError);
    await local.listen();
    await expect(local.listen()).rejects.toBeInstanceOf(LifecycleError);
    const c = new OpenAI({ baseURL: local.baseURL, apiKey: 'scripted', maxRetries: 0 });
    const pending = c.chat.completions
      .create({ model: 'scripted:slow', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    // Wait until the request is in the server (its delay has started) before closing.
    await expect.poll(() => local.inFlight).toBe(1);
    const started = Date.now();
    await Promise.all([local.close(), local.close()]);
    expect(local.state).toBe('closed');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await pending).toBeInstanceOf(OpenAI.APIError);
  });
});
