import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SEALED_FIELD, type JsonValue } from '@warden/contracts';
import { bearerToken, decidingRole, type Authenticator, type Principal } from '../auth.js';
import type { Decisions } from '../decisions.js';
import type { Refusal } from '../decide.js';
import { EscalationStatuses, type EscalationDoc, type EscalationStore } from '../store.js';
import type { TaskView, TaskViews } from '../task-view.js';
import type { Rollbacks } from '../rollback/rollbacks.js';
import { openApiDocument } from './openapi.js';
import { peoplePage } from './page.js';
import { registerRollbackRoute } from './rollback.js';

/** A comment line keeps idle event streams open through proxies. */
const HEARTBEAT_MS = 15_000;

/** What the people's API needs. */
export interface PeopleApiOptions {
  readonly store: EscalationStore;
  readonly decisions: Decisions;
  readonly auth: Authenticator;
  /** Budget and breaker state of a task, shown beside its pending escalations. */
  readonly views: TaskViews;
  /** Admins' rollbacks (ADR 0026); absent: no rollback route. */
  readonly rollbacks?: Rollbacks;
  /**
   * How a sealed value (ADR 0026: personal data the planner sealed in a proposal's args or answer) is shown: opened
   * for a caller who decides (approver, admin: they judge what they approve), `[sealed: <subject>]` for a viewer,
   * `[erased]` for all once its subject is erased (presentSealed). Absent: shown as the event holds it.
   */
  readonly presentSealed?: (value: JsonValue, open: boolean) => Promise<JsonValue>;
}

const DecisionBody = z
  .object({
    argsHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    policyVersion: z.string().min(1).max(200).optional(),
    comment: z.string().max(4000).optional(),
  })
  .strict();

const HaltBody = z
  .object({
    comment: z.string().max(4000).optional(),
    /** Resume only: more budget for the task (added to its limits). */
    grant: z
      .object({
        tokens: z.number().int().min(0).max(100_000_000).optional(),
        costUsd: z.number().min(0).max(100_000).optional(),
        steps: z.number().int().min(0).max(10_000).optional(),
        wallTimeMs: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400_000)
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type Params = { taskId: string; escalationId: string };

function publicEscalation(doc: EscalationDoc, task?: TaskView): Record<string, unknown> {
  return {
    taskId: doc.taskId,
    tenantId: doc.tenantId,
    escalationId: doc.escalationId,
    status: doc.status,
    requested: doc.requested,
    requestedAt: doc.requestedAt,
    expiresAt: doc.expiresAt.toISOString(),
    ...(doc.decision === undefined ? {} : { decision: doc.decision }),
    ...(doc.halt === undefined ? {} : { halt: { eventId: doc.halt.eventId, reasonCode: doc.halt.reasonCode } }),
    ...(task === undefined ? {} : { task }),
  };
}

/**
 * The people's API: list and show escalations, approve or deny, described by /openapi.json. The caller is the
 * person of a bearer token; every lookup is scoped to their tenants, so another tenant's escalation is
 * indistinguishable from an absent one (404).
 */
export function buildPeopleApi(options: PeopleApiOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { store, decisions, auth, views } = options;
  /** The escalation with its sealed values presented to the caller (ADR 0026). */
  const presented = async (doc: EscalationDoc, principal: Principal): Promise<EscalationDoc> => {
    const present = options.presentSealed;
    if (present === undefined || !JSON.stringify(doc.requested).includes(SEALED_FIELD)) return doc;
    const open = decidingRole(principal) !== undefined;
    return { ...doc, requested: (await present(doc.requested as JsonValue, open)) as EscalationDoc['requested'] };
  };
  // pending escalations show their task's budget and breakers (read when asked, cached briefly: never per event)
  const shown = async (doc: EscalationDoc, principal: Principal) =>
    publicEscalation(
      await presented(doc, principal),
      doc.status === 'pending' ? await views.of(doc.taskId, doc.tenantId) : undefined,
    );
  const principals = new WeakMap<FastifyRequest, Principal>();
  const streams = new Set<ServerResponse>();
  const principalOf = (req: FastifyRequest): Principal => principals.get(req)!;
  const refuse = (reply: FastifyReply, r: Refusal) => reply.code(r.status).send({ error: r.code, message: r.message });

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/openapi.json' || req.url === '/healthz' || req.url === '/') return;
    const principal = await auth.principalOf(bearerToken(req.headers.authorization));
    if (principal === undefined) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'a valid bearer token is required' });
      return;
    }
    principals.set(req, principal);
  });

  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/openapi.json', (_req, reply) => reply.send(openApiDocument));
  app.get('/', (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
      .send(peoplePage),
  );

  // Server-sent events: `event: escalation` for each change of one of the caller's tenants' escalations.
  app.get('/events', (req, reply) => {
    const tenants = new Set(principalOf(req).tenants);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const unsubscribe = store.onChange((c) => {
      if (tenants.has(c.tenantId)) res.write(`event: escalation\ndata: ${JSON.stringify(c)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const stop = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.raw.on('close', stop);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  app.addHook('preClose', (done) => {
    for (const s of streams) s.end();
    done();
  });

  app.get<{ Querystring: { status?: string } }>('/escalations', async (req, reply) => {
    const status = z.enum(EscalationStatuses).optional().safeParse(req.query.status);
    if (!status.success) return reply.code(400).send({ error: 'bad_request', message: 'unknown status' });
    const docs = await store.list(principalOf(req).tenants, status.data);
    return reply.send({ escalations: await Promise.all(docs.map((d) => shown(d, principalOf(req)))) });
  });

  app.get<{ Params: Params }>('/tasks/:taskId/escalations/:escalationId', async (req, reply) => {
    const doc = await store.get(req.params.taskId, req.params.escalationId, principalOf(req).tenants);
    if (doc === null) return reply.code(404).send({ error: 'not_found', message: 'no such escalation' });
    return reply.send(
      publicEscalation(await presented(doc, principalOf(req)), await views.of(doc.taskId, doc.tenantId)),
    );
  });

  for (const kind of ['approve', 'deny'] as const) {
    app.post<{ Params: Params }>(`/tasks/:taskId/escalations/:escalationId/${kind}`, async (req, reply) => {
      const body = DecisionBody.safeParse(req.body ?? {});
      if (!body.success) {
        const message = body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return reply.code(400).send({ error: 'bad_request', message });
      }
      const result = await decisions.decide(req.params.taskId, req.params.escalationId, principalOf(req), {
        kind,
        ...body.data,
      });
      if (!result.ok) return refuse(reply, result.refusal);
      return reply.send({ status: result.status, eventId: result.eventId });
    });
  }
  for (const kind of ['resume', 'cancel'] as const) {
    app.post<{ Params: Params }>(`/tasks/:taskId/escalations/:escalationId/${kind}`, async (req, reply) => {
      const body = HaltBody.safeParse(req.body ?? {});
      if (!body.success || (kind === 'cancel' && body.data.grant !== undefined)) {
        const message = body.success
          ? 'grant: only a resume grants budget'
          : body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return reply.code(400).send({ error: 'bad_request', message });
      }
      const result = await decisions.decideHalt(req.params.taskId, req.params.escalationId, principalOf(req), {
        kind,
        ...body.data,
      });
      if (!result.ok) return refuse(reply, result.refusal);
      return reply.send({ status: result.status, eventId: result.eventId });
    });
  }
  if (options.rollbacks !== undefined) registerRollbackRoute(app, options.rollbacks, principalOf);
  return app;
}
