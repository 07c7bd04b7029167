/**
 * The demo tool set: argument schemas (zod, strict, no transforms: the guard checks args exactly as the executor
 * runs them), output schemas, where each tool's resources are and which fields must be grounded.
 */
import { z } from 'zod';
import { JsonValue } from '@warden/contracts';
import { createToolRegistry, defineTool, type ToolRegistry } from './spec.js';

const Collection = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/, 'expected a collection name');
/** A filter key: a field name, never a query operator such as $where. */
const FieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,99}$/, 'expected a field name (no $ operators)');
const Scalar = z.union([z.string().max(1_000), z.number().finite(), z.boolean(), z.null()]);
const Email = z.email().max(320);
const FilePath = z.string().min(1).max(4_096);
const RecordId = z.string().min(1).max(100);
const Count = z.number().int().nonnegative();

/** customers.query: read customers matching a filter. */
export const customersQuery = defineTool({
  name: 'customers.query',
  description: 'Read customers of a collection matching an equality filter',
  destructive: false,
  argsSchema: z
    .object({
      collection: Collection,
      filter: z.record(FieldName, Scalar),
      limit: z.number().int().min(1).max(1_000).optional(),
    })
    .strict(),
  outputSchema: z.object({ rows: z.array(z.record(z.string(), JsonValue)), total: Count }),
  resources: { collections: ['collection'] },
  criticalFields: [],
});

/** customers.update: set fields of one customer. */
export const customersUpdate = defineTool({
  name: 'customers.update',
  description: 'Set fields of one customer by id',
  destructive: true,
  argsSchema: z
    .object({
      collection: Collection,
      id: RecordId,
      set: z
        .object({
          email: Email.optional(),
          phone: z
            .string()
            .regex(/^\+?[0-9 ()-]{5,30}$/, 'expected a phone number')
            .optional(),
          name: z.string().min(1).max(200).optional(),
          status: z.enum(['active', 'inactive', 'suspended']).optional(),
          creditLimitUsd: z.number().nonnegative().max(10_000_000).optional(),
        })
        .strict()
        .refine((set) => Object.keys(set).length > 0, 'set must name at least one field'),
    })
    .strict(),
  outputSchema: z.object({ matched: Count, modified: Count }),
  resources: { collections: ['collection'] },
  criticalFields: ['id', 'set.email', 'set.phone', 'set.name', 'set.creditLimitUsd'],
});

/**
 * customers.delete: delete customers by id or by an equality filter. A filter's reach is only known by a dry run
 * against the store (estimateImpact), which is how a "clean up the data" delete of half the table is caught.
 */
export const customersDelete = defineTool({
  name: 'customers.delete',
  description: 'Delete customers by id, or every customer matching an equality filter',
  destructive: true,
  argsSchema: z
    .object({
      collection: Collection,
      ids: z.array(RecordId).min(1).max(1_000).optional(),
      filter: z.record(FieldName, Scalar).optional(),
    })
    .strict()
    .refine((a) => (a.ids === undefined) !== (a.filter === undefined), 'give either ids or filter, not both'),
  outputSchema: z.object({ deleted: Count }),
  resources: { collections: ['collection'] },
  criticalFields: ['ids.*', 'filter.*'],
});

/** email.send: send one e-mail. */
export const emailSend = defineTool({
  name: 'email.send',
  description: 'Send an e-mail',
  destructive: true,
  argsSchema: z
    .object({
      to: z.array(Email).min(1).max(100),
      cc: z.array(Email).max(100).optional(),
      subject: z.string().min(1).max(500),
      body: z.string().min(1).max(100_000),
    })
    .strict(),
  outputSchema: z.object({ messageId: z.string().min(1), accepted: z.array(z.string()) }),
  resources: { recipients: ['to.*', 'cc.*'] },
  criticalFields: ['to.*', 'cc.*'],
});

/** files.read: read one file. */
export const filesRead = defineTool({
  name: 'files.read',
  description: 'Read a file',
  destructive: false,
  argsSchema: z.object({ path: FilePath, maxBytes: z.number().int().min(1).max(50_000_000).optional() }).strict(),
  outputSchema: z.object({ content: z.string(), sizeBytes: Count }),
  resources: { paths: ['path'] },
  criticalFields: [],
});

/** files.write: write one file. */
export const filesWrite = defineTool({
  name: 'files.write',
  description: 'Write a file',
  destructive: true,
  argsSchema: z
    .object({ path: FilePath, content: z.string().max(10_000_000), overwrite: z.boolean().optional() })
    .strict(),
  outputSchema: z.object({ sizeBytes: Count }),
  resources: { paths: ['path'] },
  criticalFields: ['path'],
});

/** files.delete: delete files. */
export const filesDelete = defineTool({
  name: 'files.delete',
  description: 'Delete files',
  destructive: true,
  argsSchema: z.object({ paths: z.array(FilePath).min(1).max(1_000) }).strict(),
  outputSchema: z.object({ deleted: Count }),
  resources: { paths: ['paths.*'] },
  criticalFields: ['paths.*'],
});

/** knowledge.search: the retrieval tool over the ground-truth store. */
export const knowledgeSearch = defineTool({
  name: 'knowledge.search',
  description: 'Search the ground-truth store',
  destructive: false,
  argsSchema: z
    .object({ query: z.string().min(1).max(2_000), topK: z.number().int().min(1).max(50).optional() })
    .strict(),
  outputSchema: z.object({
    hits: z.array(z.object({ sourceId: z.string().min(1), text: z.string(), score: z.number().finite() })),
  }),
  resources: {},
  criticalFields: [],
});

/** http.get: fetch a URL. */
export const httpGet = defineTool({
  name: 'http.get',
  description: 'Fetch a URL with GET',
  destructive: false,
  argsSchema: z
    .object({
      url: z
        .url({ protocol: /^https?$/ })
        .max(2_000)
        .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'credentials in URLs are refused'),
      headers: z.record(z.string().max(100), z.string().max(2_000)).optional(),
    })
    .strict(),
  outputSchema: z.object({ status: z.number().int().min(100).max(599), body: z.string() }),
  resources: { hosts: ['url'] },
  criticalFields: [],
});

/** payments.refund: refund (part of) an order. Not in the list; it exercises money limits and amounts. */
export const paymentsRefund = defineTool({
  name: 'payments.refund',
  description: 'Refund an order',
  destructive: true,
  argsSchema: z
    .object({ orderId: RecordId, amountUsd: z.number().positive().max(1_000_000), reason: z.string().min(1).max(500) })
    .strict(),
  outputSchema: z.object({ refundId: z.string().min(1), amountUsd: z.number().nonnegative() }),
  resources: {},
  criticalFields: ['orderId', 'amountUsd'],
});

/** The demo tools, by name. */
export const demoTools: ToolRegistry = createToolRegistry([
  customersQuery,
  customersUpdate,
  customersDelete,
  emailSend,
  filesRead,
  filesWrite,
  filesDelete,
  knowledgeSearch,
  httpGet,
  paymentsRefund,
]);
