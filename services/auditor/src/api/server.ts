import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  fetchVerified,
  isBlobRef,
  presentSealed,
  SEALED_FIELD,
  type BlobStore,
  type JsonValue,
  type SubjectKeyStore,
  type WireEnvelope,
} from '@warden/contracts';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Filter } from 'mongodb';
import { z } from 'zod';
import type { Checkpoint } from '../checkpoints/checkpoint.js';
import type { LiveChain } from '../projector/projection.js';
import type { AuditStore, EventDoc, TaskDoc } from '../projector/store.js';
import { auditTask } from '../verify/audit-task.js';
import { TenantKeys, keyFromHeaders } from './auth.js';
import { openApiDocument } from './openapi.js';

/** What the query API needs. */
export interface QueryApiOptions {
  readonly store: AuditStore;
  readonly blobs: BlobStore;
  readonly keys: ReadonlyArray<{ readonly tenantId: string; readonly key: string }>;
  /**
   * API keys with the personal-data role (ADR 0026): their timelines show sealed values opened. Every other key sees
   * a sealed value as its placeholder (`[sealed: <subject>]`), and everyone an erased one as `[erased]`.
   */
  readonly personalDataKeys?: ReadonlyArray<{ readonly tenantId: string; readonly key: string }>;
  /** The subject keys that open sealed values (cached: ADR 0026). None: sealed values are shown as they are. */
  readonly subjectKeys?: SubjectKeyStore;
  readonly checkpointKey: string;
  /** Serves the Prometheus text format on GET /metrics (no API key: scraped by Prometheus, holds no audit data). */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * A task's events as the live projection holds them in memory (Projection.liveChain): verification answers from
   * them without reading MongoDB, which scans, and which the projection keeps busy under load.
   */
  readonly liveChain?: (taskId: string, tenantId: string) => LiveChain | undefined;
}

const SearchQuery = z
  .object({
    status: z.enum(['submitted', 'running', 'completed', 'failed', 'halted']).optional(),
    tool: z.string().min(1).max(200).optional(),
    rule: z.string().min(1).max(200).optional(),
    chain: z.enum(['ok', 'pending', 'broken']).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

const iso = (s: string): string => new Date(s).toISOString();

function publicTask(doc: TaskDoc): Record<string, unknown> {
  const { _id, ...rest } = doc;
  return { taskId: _id, ...rest };
}

function bySeq(a: EventDoc, b: EventDoc): number {
  return a.seq - b.seq || a.occurredAt.localeCompare(b.occurredAt) || a._id.localeCompare(b._id);
}

/**
 * The query API: a task's timeline, search by status, tool, rule and time, JSON Lines export and on-demand
 * verification, described by /openapi.json. The caller's tenant comes from its API key alone; every lookup filters
 * on it, so another tenant's task is indistinguishable from an absent one (404).
 */
export function buildQueryApi(options: QueryApiOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const keys = new TenantKeys(options.keys);
  const personalDataKeys = new TenantKeys(options.personalDataKeys ?? []);
  const { store, subjectKeys } = options;
  const tenants = new WeakMap<FastifyRequest, string>();
  /** Requests made with a personal-data key: they may open sealed values. */
  const openers = new WeakSet<FastifyRequest>();

  /** An event's data as this caller is shown it: sealed values opened (personal-data role), placeholders, [erased]. */
  const present = (req: FastifyRequest, data: unknown): Promise<unknown> =>
    subjectKeys === undefined || !JSON.stringify(data).includes(SEALED_FIELD)
      ? Promise.resolve(data)
      : presentSealed(subjectKeys, data as JsonValue, openers.has(req));

  const tenantOf = (req: FastifyRequest): string => tenants.get(req) ?? '';
  const notFound = (reply: FastifyReply, taskId: string) =>
    reply.code(404).send({ error: 'not_found', message: `no task ${taskId}` });

  async function taskOf(req: FastifyRequest<{ Params: { taskId: string } }>): Promise<TaskDoc | null> {
    return store.tasks.findOne({ _id: req.params.taskId, tenantId: tenantOf(req) });
  }

  async function eventsOf(task: TaskDoc): Promise<EventDoc[]> {
    const docs = await store.events.find({ taskId: task._id, tenantId: task.tenantId }).toArray();
    return docs.sort(bySeq);
  }

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/openapi.json' || req.url === '/healthz' || req.url === '/metrics') return;
    const given = keyFromHeaders(req.headers);
    const opener = personalDataKeys.tenantOf(given);
    const tenant = opener ?? keys.tenantOf(given);
    if (tenant === undefined) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'a valid API key is required' });
      return;
    }
    tenants.set(req, tenant);
    if (opener !== undefined) openers.add(req);
  });

  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  const metrics = options.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', (req, reply) => {
      reply.hijack();
      metrics(req.raw, reply.raw);
    });
  }
  app.get('/openapi.json', (_req, reply) => reply.send(openApiDocument));

  app.get('/v1/tasks', async (req, reply) => {
    const parsed = SearchQuery.safeParse(req.query);
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'bad_request',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    }
    const q = parsed.data;
    const filter: Record<string, unknown> = { tenantId: tenantOf(req) };
    if (q.status !== undefined) filter.status = q.status;
    if (q.tool !== undefined) filter.tools = q.tool;
    if (q.rule !== undefined) filter.rules = q.rule;
    if (q.chain !== undefined) filter['chain.status'] = q.chain;
    if (q.from !== undefined || q.to !== undefined) {
      filter.submittedAt = {
        ...(q.from === undefined ? {} : { $gte: iso(q.from) }),
        ...(q.to === undefined ? {} : { $lte: iso(q.to) }),
      };
    }
    const docs = await store.tasks
      .find(filter as Filter<TaskDoc>)
      .sort({ submittedAt: -1, _id: 1 })
      .limit(q.limit)
      .toArray();
    const tasks = [];
    for (const doc of docs) tasks.push(await present(req, publicTask(doc)));
    return { tasks };
  });

  app.get<{ Params: { taskId: string } }>('/v1/tasks/:taskId', async (req, reply) => {
    const task = await taskOf(req);
    return task === null ? notFound(reply, req.params.taskId) : present(req, publicTask(task));
  });

  app.get<{ Params: { taskId: string } }>('/v1/tasks/:taskId/timeline', async (req, reply) => {
    const task = await taskOf(req);
    if (task === null) return notFound(reply, req.params.taskId);
    const docs = await eventsOf(task);
    const events = [];
    for (const d of docs) {
      const env = JSON.parse(d.wire) as WireEnvelope;
      events.push({
        seq: d.seq,
        type: d.type,
        kind: d.facts.kind,
        eventId: d.eventId,
        hash: d._id,
        occurredAt: d.occurredAt,
        producer: d.producer,
        policyVersion: d.policyVersion,
        causationId: d.causationId,
        prevHashes: env.prevHashes,
        facts: await present(req, d.facts),
        data: await present(req, env.data),
      });
    }
    return { taskId: task._id, events };
  });

  app.get<{ Params: { taskId: string }; Querystring: { resolve?: string } }>(
    '/v1/tasks/:taskId/export',
    async (req, reply) => {
      const task = await taskOf(req);
      if (task === null) return notFound(reply, req.params.taskId);
      const resolve = req.query.resolve === 'true' || req.query.resolve === '1';
      const lines: string[] = [];
      for (const d of await eventsOf(task)) {
        if (!resolve || d.claimCheck === null) {
          lines.push(d.wire);
          continue;
        }
        const env = JSON.parse(d.wire) as WireEnvelope;
        if (!isBlobRef(env.data)) {
          lines.push(d.wire);
          continue;
        }
        const bytes = await fetchVerified(options.blobs, env.data.$claimCheck);
        const data: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
        lines.push(JSON.stringify({ ...env, data }));
      }
      return reply
        .header('content-type', 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${encodeURIComponent(task._id)}.jsonl"`)
        .send(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    },
  );

  app.get<{ Params: { taskId: string }; Querystring: { source?: string } }>(
    '/v1/tasks/:taskId/verify',
    async (req, reply) => {
      const source = req.query.source ?? 'any';
      if (source !== 'any' && source !== 'store') {
        return reply.code(400).send({ error: 'bad_request', message: 'source: expected any or store' });
      }
      const live = source === 'store' ? undefined : options.liveChain?.(req.params.taskId, tenantOf(req));
      if (live !== undefined) {
        let checkpoint = live.checkpoint;
        if (checkpoint === null) {
          const cp = await store.latestCheckpoint(req.params.taskId);
          if (cp !== null) {
            const { _id, ...rest } = cp;
            checkpoint = rest;
          }
        }
        return auditTask(req.params.taskId, live.envelopes, checkpoint, options.checkpointKey);
      }
      const task = await taskOf(req);
      if (task === null) return notFound(reply, req.params.taskId);
      const envelopes = (await eventsOf(task)).map((d) => JSON.parse(d.wire) as WireEnvelope);
      const cp = await store.latestCheckpoint(task._id);
      let checkpoint: Checkpoint | null = null;
      if (cp !== null) {
        const { _id, ...rest } = cp;
        checkpoint = rest;
      }
      return auditTask(task._id, envelopes, checkpoint, options.checkpointKey);
    },
  );

  return app;
}
