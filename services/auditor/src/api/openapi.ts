/** The query API's OpenAPI 3.1 document (served at GET /openapi.json). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Warden auditor query API',
    version: '1.0.0',
    description:
      "Read-only access to the audit projection. Every call is scoped to the caller's tenant: a task of another tenant answers 404, exactly like a task that does not exist.",
  },
  security: [{ bearer: [] }, { apiKey: [] }],
  paths: {
    '/v1/tasks': {
      get: {
        operationId: 'searchTasks',
        summary: "Search the caller's tasks",
        parameters: [
          {
            name: 'status',
            in: 'query',
            schema: { type: 'string', enum: ['submitted', 'running', 'completed', 'failed', 'halted'] },
          },
          {
            name: 'tool',
            in: 'query',
            description: 'a tool the task proposed, was approved or ran',
            schema: { type: 'string' },
          },
          { name: 'rule', in: 'query', description: 'a guard rule that fired on the task', schema: { type: 'string' } },
          { name: 'chain', in: 'query', schema: { type: 'string', enum: ['ok', 'pending', 'broken'] } },
          {
            name: 'from',
            in: 'query',
            description: 'submitted at or after (ISO 8601)',
            schema: { type: 'string', format: 'date-time' },
          },
          {
            name: 'to',
            in: 'query',
            description: 'submitted at or before (ISO 8601)',
            schema: { type: 'string', format: 'date-time' },
          },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
        ],
        responses: {
          '200': {
            description: 'Matching tasks, newest first',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['tasks'],
                  properties: { tasks: { type: 'array', items: { $ref: '#/components/schemas/Task' } } },
                },
              },
            },
          },
          '400': { $ref: '#/components/responses/BadRequest' },
          '401': { $ref: '#/components/responses/Unauthorized' },
        },
      },
    },
    '/v1/tasks/{taskId}': {
      get: {
        operationId: 'getTask',
        summary: "A task's summary: status, totals, final output, chain state",
        parameters: [{ $ref: '#/components/parameters/taskId' }],
        responses: {
          '200': {
            description: 'The task',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Task' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '404': { $ref: '#/components/responses/NotFound' },
        },
      },
    },
    '/v1/tasks/{taskId}/timeline': {
      get: {
        operationId: 'getTimeline',
        summary:
          "A task's events in chain order: prompts, reasoning, proposals, verdicts, human decisions, tool results, outcome. " +
          'Sealed personal data (ADR 0026) is opened for a key with the personal-data role, shown as `[sealed: <subject>]` ' +
          'to other keys, and as `[erased]` to all once its subject is erased.',
        parameters: [{ $ref: '#/components/parameters/taskId' }],
        responses: {
          '200': {
            description: 'The timeline',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['taskId', 'events'],
                  properties: {
                    taskId: { type: 'string' },
                    events: { type: 'array', items: { $ref: '#/components/schemas/TimelineEvent' } },
                  },
                },
              },
            },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '404': { $ref: '#/components/responses/NotFound' },
        },
      },
    },
    '/v1/tasks/{taskId}/export': {
      get: {
        operationId: 'exportTask',
        summary: 'The task as JSON Lines: one wire envelope per line, in chain order (verifiable with verifyChain)',
        parameters: [
          { $ref: '#/components/parameters/taskId' },
          {
            name: 'resolve',
            in: 'query',
            description:
              'inline claim-checked data (checked against its sha256); the lines then no longer hash to the chain',
            schema: { type: 'boolean', default: false },
          },
        ],
        responses: {
          '200': {
            description: 'One JSON envelope per line',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '404': { $ref: '#/components/responses/NotFound' },
        },
      },
    },
    '/v1/tasks/{taskId}/verify': {
      get: {
        operationId: 'verifyTask',
        summary: "Verifies the task's hash chain now, and its completeness against the latest signed checkpoint",
        description:
          'By default from the events the auditor read from the log and holds in memory, when it holds all of the ' +
          "task's (fast: no database read); otherwise, or with source=store, from the stored projection.",
        parameters: [
          { $ref: '#/components/parameters/taskId' },
          {
            name: 'source',
            in: 'query',
            description: 'store: verify the events stored in the projection (MongoDB), never the copy in memory',
            schema: { type: 'string', enum: ['any', 'store'], default: 'any' },
          },
        ],
        responses: {
          '200': {
            description: 'The audit',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/TaskAudit' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
          '404': { $ref: '#/components/responses/NotFound' },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: "The tenant's API key" },
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
    },
    parameters: { taskId: { name: 'taskId', in: 'path', required: true, schema: { type: 'string' } } },
    responses: {
      BadRequest: {
        description: 'Invalid query',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      Unauthorized: {
        description: 'Missing or unknown API key',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
      NotFound: {
        description: "No such task for the caller's tenant",
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
      ChainBreak: {
        type: 'object',
        required: ['kind', 'eventId', 'seq', 'detail'],
        properties: {
          kind: { type: 'string', enum: ['altered', 'missing', 'reordered', 'conflicting_id', 'forked', 'foreign'] },
          eventId: { type: 'string' },
          seq: { type: 'integer' },
          detail: { type: 'string' },
        },
      },
      Task: {
        type: 'object',
        required: ['taskId', 'tenantId', 'status', 'eventCount', 'tokens', 'costUsd', 'chain'],
        properties: {
          taskId: { type: 'string' },
          tenantId: { type: 'string' },
          status: { type: 'string', enum: ['submitted', 'running', 'completed', 'failed', 'halted'] },
          goal: { type: ['string', 'null'] },
          requester: { type: ['string', 'null'] },
          submittedAt: { type: ['string', 'null'] },
          lastEventAt: { type: ['string', 'null'] },
          endedAt: { type: ['string', 'null'] },
          headSeq: { type: 'integer' },
          eventCount: { type: 'integer' },
          tools: { type: 'array', items: { type: 'string' } },
          rules: { type: 'array', items: { type: 'string' } },
          countsByType: { type: 'object', additionalProperties: { type: 'integer' } },
          tokens: {
            type: 'object',
            properties: { prompt: { type: 'integer' }, completion: { type: 'integer' }, total: { type: 'integer' } },
          },
          costUsd: { type: 'number' },
          final: { type: ['object', 'null'] },
          chain: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'pending', 'broken'] },
              count: { type: 'integer' },
              head: { type: ['object', 'null'] },
              pendingLinks: { type: 'integer' },
              gaps: { type: 'integer' },
              breaks: { type: 'array', items: { $ref: '#/components/schemas/ChainBreak' } },
            },
          },
          alerts: { type: 'array', items: { type: 'string' } },
        },
      },
      TimelineEvent: {
        type: 'object',
        required: ['seq', 'type', 'kind', 'eventId', 'hash', 'occurredAt', 'data'],
        properties: {
          seq: { type: 'integer' },
          type: { type: 'string' },
          kind: { type: 'string' },
          eventId: { type: 'string' },
          hash: { type: 'string' },
          occurredAt: { type: 'string' },
          producer: { type: 'string' },
          policyVersion: { type: 'string' },
          causationId: { type: ['string', 'null'] },
          prevHashes: { type: 'array', items: { type: 'string' } },
          facts: { type: 'object' },
          data: {
            description:
              'the event data; a {"$claimCheck": …} reference when stored in the blob store (see export?resolve=true)',
          },
        },
      },
      TaskAudit: {
        type: 'object',
        required: ['taskId', 'status', 'chain', 'problems'],
        properties: {
          taskId: { type: 'string' },
          status: { type: 'string', enum: ['complete', 'incomplete', 'broken'] },
          chain: { type: 'object' },
          problems: {
            type: 'array',
            items: {
              type: 'object',
              required: ['kind', 'detail'],
              properties: {
                kind: { type: 'string', enum: ['no_terminal_event', 'truncated', 'checkpoint_invalid'] },
                detail: { type: 'string' },
              },
            },
          },
          checkpoint: { type: ['object', 'null'] },
        },
      },
    },
  },
} as const;
