import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../auth.js';
import type { Rollbacks } from '../rollback/rollbacks.js';

const RollbackBody = z
  .object({
    fromStep: z.number().int().nonnegative().optional(),
    dryRun: z.boolean().optional(),
    requireApproval: z.boolean().optional(),
  })
  .strict();

/**
 * POST /admin/tasks/:taskId/rollback (admin role): plans the compensations of the task's effects and, unless
 * `dryRun`, submits them as a linked task (ADR 0026). 404 for a task not in the log or of another tenant.
 */
export function registerRollbackRoute(
  app: FastifyInstance,
  rollbacks: Rollbacks,
  principalOf: (req: FastifyRequest) => Principal,
): void {
  app.post<{ Params: { taskId: string } }>('/admin/tasks/:taskId/rollback', async (req, reply) => {
    const principal = principalOf(req);
    if (!principal.roles.includes('admin')) {
      return reply.code(403).send({ error: 'forbidden', message: 'a rollback needs the admin role' });
    }
    const body = RollbackBody.safeParse(req.body ?? {});
    if (!body.success) {
      const message = body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      return reply.code(400).send({ error: 'bad_request', message });
    }
    const result = await rollbacks.rollback(
      req.params.taskId,
      {
        fromStep: body.data.fromStep ?? 0,
        dryRun: body.data.dryRun ?? false,
        requireApproval: body.data.requireApproval ?? false,
      },
      principal,
    );
    if (result === null) return reply.code(404).send({ error: 'not_found', message: 'no such task' });
    const { original: _original, ...plan } = result.plan;
    return reply.send({ plan, submitted: result.submitted });
  });
}
