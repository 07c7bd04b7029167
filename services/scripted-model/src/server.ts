import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import { AttemptCounter } from './attempts.js';
import { ChatRequestSchema, type ChatRequest } from './chat-request.js';
import { LifecycleError, ScenarioError } from './errors.js';
import { errorBody, ERROR_TYPES, failureBody, toChatCompletion, toChunks, type ResponseMeta } from './openai-shapes.js';
import {
  failureForAttempt,
  modelNameOf,
  playStep,
  promptTokensOf,
  requestFingerprint,
  scenarioIdOf,
  selectStep,
} from './play.js';
import type { Scenario, ScriptStep } from './scenario.js';
import { warmUpTokenizer } from './tokens.js';

/** Default request body limit: conversations carrying large tool outputs must still reach the model. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
/** Default number of (scenario, step, conversation) attempt counters remembered. */
export const DEFAULT_MAX_TRACKED_ATTEMPTS = 10_000;

/** The lifecycle states of the server, in order. */
export const SERVER_STATES = ['created', 'starting', 'running', 'closing', 'closed'] as const;
/** A lifecycle state of the server. */
export type ServerState = (typeof SERVER_STATES)[number];

/** Options of createScriptedModelServer. */
export interface ScriptedModelServerOptions {
  /** The scenarios to serve; ids must be unique. */
  readonly scenarios: readonly Scenario[];
  /** Where to log; silent when absent. */
  readonly logger?: Logger | undefined;
  /** Largest request body accepted (413 above it). */
  readonly bodyLimitBytes?: number | undefined;
  /** How many attempt counters to remember before forgetting the oldest. */
  readonly maxTrackedAttempts?: number | undefined;
  /** Clock for the `created` field (ms since the epoch). */
  readonly now?: (() => number) | undefined;
}

/** Where to listen. Port 0 picks a free port. */
export interface ListenOptions {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
}

/** A running (or runnable) scripted model. */
export interface ScriptedModelServer {
  /** Starts listening; resolves to the origin, e.g. "http://127.0.0.1:8787". Callable once. */
  listen(options?: ListenOptions): Promise<string>;
  /** Stops accepting requests, aborts scripted delays and closes. Idempotent. */
  close(): Promise<void>;
  /** The origin, e.g. "http://127.0.0.1:8787". Throws before listen() resolves. */
  readonly url: string;
  /** The origin plus "/v1": what an openai client takes as baseURL. */
  readonly baseURL: string;
  /** The current lifecycle state. */
  readonly state: ServerState;
  /** Chat completion requests being handled now (including those waiting out a scripted delay). */
  readonly inFlight: number;
  /** Forgets every attempt count, so scripted failures fail again. */
  resetAttempts(): void;
}

interface Context {
  readonly scenarios: ReadonlyMap<string, Scenario>;
  readonly logger: Logger;
  readonly attempts: AttemptCounter;
  readonly now: () => number;
  readonly closing: AbortSignal;
  inFlight: number;
}

/**
 * Creates the scripted model: an OpenAI-compatible HTTP server that plays scenario scripts. Routes:
 * POST /v1/chat/completions (JSON or SSE stream), GET /v1/models, GET /v1/models/:model, GET /healthz, GET /readyz.
 */
export function createScriptedModelServer(options: ScriptedModelServerOptions): ScriptedModelServer {
  const scenarios = new Map<string, Scenario>();
  for (const scenario of options.scenarios) {
    const existing = scenarios.get(scenario.id);
    if (existing !== undefined) {
      throw new ScenarioError(`duplicate scenario id "${scenario.id}" (${existing.source} and ${scenario.source})`, {
        details: { id: scenario.id },
      });
    }
    scenarios.set(scenario.id, scenario);
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  const closingController = new AbortController();
  const ctx: Context = {
    scenarios,
    logger,
    attempts: new AttemptCounter(options.maxTrackedAttempts ?? DEFAULT_MAX_TRACKED_ATTEMPTS),
    now: options.now ?? Date.now,
    closing: closingController.signal,
    inFlight: 0,
  };

  let state: ServerState = 'created';
  let origin: string | undefined;
  let closePromise: Promise<void> | undefined;

  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: () => `req_${randomUUID().replaceAll('-', '')}`,
  });
  registerRoutes(app, ctx, () => state);

  return {
    async listen(listenOptions = {}) {
      if (state !== 'created') throw new LifecycleError(`listen() called in state ${state}`, { details: { state } });
      state = 'starting';
      try {
        warmUpTokenizer();
        await app.listen({ port: listenOptions.port ?? 0, host: listenOptions.host ?? '127.0.0.1' });
      } catch (error) {
        state = 'closed';
        throw error;
      }
      origin = originOf(app.server.address() as AddressInfo);
      state = 'running';
      logger.info({ url: origin, scenarios: [...scenarios.keys()] }, 'scripted model listening');
      return origin;
    },
    close() {
      closePromise ??= (async () => {
        state = 'closing';
        closingController.abort();
        try {
          await app.close();
        } finally {
          state = 'closed';
          logger.info({ evictedAttemptKeys: ctx.attempts.evictedTotal }, 'scripted model closed');
        }
      })();
      return closePromise;
    },
    get url() {
      if (origin === undefined)
        throw new LifecycleError(`no url in state ${state}: call listen() first`, { details: { state } });
      return origin;
    },
    get baseURL() {
      return `${this.url}/v1`;
    },
    get state() {
      return state;
    },
    get inFlight() {
      return ctx.inFlight;
    },
    resetAttempts() {
      ctx.attempts.clear();
    },
  };
}

function originOf(address: AddressInfo): string {
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  const host = unspecified ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

function registerRoutes(app: FastifyInstance, ctx: Context, state: () => ServerState): void {
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(`Unknown request URL: ${request.method} ${request.url}.`, ERROR_TYPES.invalidRequest, 'unknown_url'),
      ),
  );

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) ctx.logger.error({ err: error, reqId: request.id }, 'request failed');
    else ctx.logger.debug({ err: error, reqId: request.id }, 'bad request');
    const type = status >= 500 ? ERROR_TYPES.server : ERROR_TYPES.invalidRequest;
    const message = status >= 500 ? 'The scripted model failed unexpectedly.' : error.message;
    return reply.code(status).send(errorBody(message, type, error.code ?? null));
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok', scenarios: ctx.scenarios.size }));

  app.get('/readyz', (_request, reply) =>
    state() === 'running' ? reply.send({ status: 'ready' }) : reply.code(503).send({ status: state() }),
  );

  const modelObject = (id: string) => ({
    id: modelNameOf(id),
    object: 'model' as const,
    created: 0,
    owned_by: 'warden-scripted',
  });

  app.get('/v1/models', (_request, reply) =>
    reply.send({ object: 'list' as const, data: [...ctx.scenarios.keys()].sort().map(modelObject) }),
  );

  app.get('/v1/models/*', (request, reply) => {
    const model = (request.params as { '*': string })['*'];
    const id = scenarioIdOf(model);
    if (id === undefined || !ctx.scenarios.has(id)) return reply.code(404).send(modelNotFound(model));
    return reply.send(modelObject(id));
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    ctx.inFlight += 1;
    try {
      return await handleChatCompletion(ctx, request, reply);
    } finally {
      ctx.inFlight -= 1;
    }
  });
}

function modelNotFound(model: string) {
  return errorBody(
    `The model \`${model}\` does not exist or you do not have access to it. Scripted models are named "scripted:<scenario id>".`,
    ERROR_TYPES.invalidRequest,
    'model_not_found',
    'model',
  );
}

/** Aborts when the client goes away before the response is finished. */
function clientGone(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

async function handleChatCompletion(ctx: Context, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const parsed = ChatRequestSchema.safeParse(request.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue === undefined ? null : issue.path.map(String).join('.');
    const message = parsed.error.issues
      .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    return reply
      .code(400)
      .send(errorBody(`Invalid request: ${message}`, ERROR_TYPES.invalidRequest, 'invalid_request', param));
  }
  const body = parsed.data;
  const scenarioId = scenarioIdOf(body.model);
  const scenario = scenarioId === undefined ? undefined : ctx.scenarios.get(scenarioId);
  if (scenario === undefined) {
    ctx.logger.info({ reqId: request.id, model: body.model }, 'unknown model');
    return reply.code(404).send(modelNotFound(body.model));
  }

  const selection = selectStep(scenario, body.messages);
  const log = ctx.logger.child({ reqId: request.id, scenario: scenario.id, turn: selection.turnIndex });
  if (selection.kind === 'exhausted') {
    log.info({ steps: selection.steps }, 'script exhausted');
    return reply
      .code(400)
      .send(
        errorBody(
          `Scenario "${scenario.id}" has ${selection.steps} step(s) and the conversation asks for turn ${selection.turnIndex} (onExhausted: "error").`,
          ERROR_TYPES.invalidRequest,
          'scenario_exhausted',
          'messages',
        ),
      );
  }
  if (selection.kind === 'no_match') {
    return reply
      .code(400)
      .send(
        errorBody(
          `Scenario "${scenario.id}" step ${selection.stepIndex}: no alternative matches the conversation.`,
          ERROR_TYPES.invalidRequest,
          'scenario_no_match',
          'messages',
        ),
      );
  }

  const promptTokens = promptTokensOf(body);
  if (scenario.contextWindowTokens !== undefined && promptTokens > scenario.contextWindowTokens) {
    log.info({ promptTokens, contextWindowTokens: scenario.contextWindowTokens }, 'context length exceeded');
    return reply
      .code(400)
      .send(
        errorBody(
          `This model's maximum context length is ${scenario.contextWindowTokens} tokens. However, your messages resulted in ${promptTokens} tokens.`,
          ERROR_TYPES.invalidRequest,
          'context_length_exceeded',
          'messages',
        ),
      );
  }

  const fingerprint = requestFingerprint(body);
  const { attempt, evicted } = ctx.attempts.next(`${scenario.id}:${selection.stepIndex}:${fingerprint}`);
  if (evicted) log.warn({ evictedTotal: ctx.attempts.evictedTotal }, 'attempt counter full: forgot the oldest key');
  const stepLog = log.child({ step: selection.stepIndex, attempt });
  reply.header('x-scripted-step', String(selection.stepIndex)).header('x-scripted-attempt', String(attempt));

  const aborted = await waitForDelay(selection.step, AbortSignal.any([clientGone(reply.raw), ctx.closing]));
  if (aborted) {
    stepLog.info('delay aborted (client gone or server closing)');
    return reply
      .code(503)
      .send(
        errorBody(
          'The scripted model is shutting down or the client went away.',
          ERROR_TYPES.server,
          'service_unavailable',
        ),
      );
  }

  const failure = failureForAttempt(selection.step, attempt);
  if (failure !== undefined) {
    stepLog.info({ status: failure.status }, 'scripted failure');
    if (failure.retryAfterMs !== undefined) {
      reply.header('retry-after-ms', String(failure.retryAfterMs));
      reply.header('retry-after', String(Math.ceil(failure.retryAfterMs / 1000)));
    }
    return reply.code(failure.status).send(failureBody(failure.status, failure.message));
  }

  const turn = playStep({ scenario, selection, request: body, fingerprint, promptTokens });
  const meta: ResponseMeta = {
    id: `chatcmpl-${fingerprint.slice(0, 29)}`,
    created: Math.floor(ctx.now() / 1000),
    model: body.model,
    systemFingerprint: `fp_${scenario.fingerprint.slice(0, 10)}`,
  };
  stepLog.info(
    {
      kind: selection.step.kind,
      finishReason: turn.finishReason,
      promptTokens,
      completionTokens: turn.usage.completionTokens,
    },
    'played step',
  );
  if (body.stream === true) return streamTurn(reply, turn, meta, body, ctx.closing);
  return reply.code(200).send(toChatCompletion(turn, meta));
}

/** Waits for the step's delay; true when the wait was aborted. */
async function waitForDelay(step: ScriptStep, signal: AbortSignal): Promise<boolean> {
  if (step.delayMs === undefined || step.delayMs === 0) return false;
  try {
    await sleep(step.delayMs, undefined, { signal });
    return false;
  } catch (error) {
    if (signal.aborted) return true;
    throw error;
  }
}

async function streamTurn(
  reply: FastifyReply,
  turn: Parameters<typeof toChunks>[0],
  meta: ResponseMeta,
  body: ChatRequest,
  closing: AbortSignal,
): Promise<FastifyReply> {
  const chunks = toChunks(turn, meta, body.stream_options?.include_usage === true);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const signal = AbortSignal.any([clientGone(raw), closing]);
  for (const chunk of [...chunks.map((c) => JSON.stringify(c)), '[DONE]']) {
    if (signal.aborted) break;
    if (!raw.write(`data: ${chunk}\n\n`)) {
      try {
        await once(raw, 'drain', { signal });
      } catch (error) {
        if (signal.aborted) break; // the client went away or the server is closing: nothing more to send
        throw error;
      }
    }
  }
  raw.end();
  return reply;
}
