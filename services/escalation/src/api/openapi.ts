/** The people's API, described for clients (served at /openapi.json). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Warden escalation API',
    version: '1',
    description:
      'People see escalated actions of their tenants and approve or deny them; admins resume or cancel halted tasks. ' +
      'Every decision is signed (Ed25519), bound to the task, escalation, action, args hash and policy version ' +
      '(or the halt it answers), and expires.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or static token' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'message'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
      Escalation: {
        type: 'object',
        properties: {
          taskId: { type: 'string' },
          tenantId: { type: 'string' },
          escalationId: { type: 'string' },
          status: { enum: ['pending', 'approved', 'denied', 'expired', 'cancelled', 'resumed'] },
          requested: { type: 'object', description: 'the EscalationRequested data' },
          requestedAt: { type: 'string', format: 'date-time' },
          expiresAt: { type: 'string', format: 'date-time' },
          decision: { type: 'object' },
          halt: { type: 'object', description: 'the TaskHalted this escalation asks about: eventId, reasonCode' },
          task: {
            type: 'object',
            description:
              "the task's budget (tokens, costUsd, steps: used, limit, remaining; consecutive failures) and breakers " +
              '(the task breaker, open tool breakers); on a single escalation and on pending ones in lists',
          },
        },
      },
      HaltDecision: {
        type: 'object',
        properties: {
          comment: { type: 'string', maxLength: 4000 },
          grant: {
            type: 'object',
            description: 'resume only: budget added to the task limits',
            properties: {
              tokens: { type: 'integer' },
              costUsd: { type: 'number' },
              steps: { type: 'integer' },
              wallTimeMs: { type: 'integer' },
            },
          },
        },
      },
      Decision: {
        type: 'object',
        properties: {
          argsHash: { type: 'string', description: 'the args hash the person saw (required to approve)' },
          policyVersion: { type: 'string', description: 'the policy version the person saw (required to approve)' },
          comment: { type: 'string', maxLength: 4000 },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/escalations': {
      get: {
        summary: "The caller's tenants' escalations, newest first",
        parameters: [
          {
            name: 'status',
            in: 'query',
            schema: { enum: ['pending', 'approved', 'denied', 'expired', 'cancelled', 'resumed'] },
          },
        ],
        responses: { '200': { description: 'escalations' }, '401': { description: 'no valid token' } },
      },
    },
    '/tasks/{taskId}/escalations/{escalationId}': {
      get: {
        summary: 'One escalation',
        responses: { '200': { description: 'the escalation' }, '404': { description: 'absent or another tenant' } },
      },
    },
    '/tasks/{taskId}/escalations/{escalationId}/approve': {
      post: {
        summary: 'Approve (approver or admin); publishes a signed HumanApproved',
        responses: {
          '200': { description: 'approved' },
          '401': { description: 'no valid token' },
          '403': { description: 'not an approver' },
          '404': { description: 'absent or another tenant' },
          '409': { description: 'already decided, args changed, stale policy, nothing to decide' },
          '410': { description: 'expired' },
          '422': { description: 'argsHash and policyVersion missing' },
        },
      },
    },
    '/tasks/{taskId}/escalations/{escalationId}/deny': {
      post: { summary: 'Deny (approver or admin); publishes a signed HumanDenied', responses: {} },
    },
    '/tasks/{taskId}/escalations/{escalationId}/resume': {
      post: {
        summary:
          'Resume a task halted by a breaker, a budget or a loop (admin only); publishes a signed TaskResumed bound to the halt',
        responses: {
          '200': { description: 'resumed' },
          '400': { description: 'bad body' },
          '401': { description: 'no valid token' },
          '403': { description: 'not an admin' },
          '404': { description: 'absent or another tenant' },
          '409': { description: 'already decided, not a halt, not resumable' },
          '410': { description: 'expired' },
        },
      },
    },
    '/tasks/{taskId}/escalations/{escalationId}/cancel': {
      post: {
        summary: 'Cancel a halted task (admin only); publishes a signed TaskCancelled; the planner ends it as failed',
        responses: {},
      },
    },
    '/admin/tasks/{taskId}/rollback': {
      post: {
        summary:
          "Roll a task's effects back (admin): body { fromStep?, dryRun?, requireApproval? }; plans the compensations newest first from the log, lists the irreversible effects, and unless dryRun submits them as a linked task (ADR 0026)",
        responses: {
          '200': {
            description: '{ plan, submitted }: the plan, and the rollback task id (null: dry run, or nothing left)',
          },
          '400': { description: 'malformed body' },
          '401': { description: 'no valid token' },
          '403': { description: 'not an admin' },
          '404': { description: 'not in the log, or another tenant' },
        },
      },
    },
    '/events': {
      get: {
        summary: "Server-sent events: `event: escalation` whenever one of the caller's tenants' escalations changes",
        responses: { '200': { description: 'text/event-stream' } },
      },
    },
    '/': { get: { summary: "The people's page (HTML)", security: [], responses: { '200': { description: 'ok' } } } },
    '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'ok' } } } },
    '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'ok' } } } },
  },
} as const;
