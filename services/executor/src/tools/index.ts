import type { RunnableTool } from '@warden/tools';
import type { Db } from 'mongodb';
import { CustomerCollections } from './customers-store.js';
import { customersDeleteTool } from './customers-delete.js';
import { customersQueryTool } from './customers-query.js';
import { customersUpdateTool } from './customers-update.js';
import { emailSendTool } from './email-send.js';
import { filesDeleteTool } from './files-delete.js';
import { filesReadTool } from './files-read.js';
import { filesWriteTool } from './files-write.js';
import { httpGetTool } from './http-get.js';
import { knowledgeSearchTool } from './knowledge-search.js';
import { paymentsRefundTool } from './payments-refund.js';
import { Workspace } from './workspace.js';

/** The stores the demo tools work on. */
export interface DemoToolStores {
  readonly db: Db;
  readonly customerCollections: readonly string[];
  readonly knowledgeCollection: string;
  readonly workspaceRoot: string;
  readonly httpAllowlist: readonly string[];
  readonly httpMaxBytes: number;
}

/** The demo tools on real stores. Adding a tool: one file in this folder and one line here. */
export function createDemoTools(stores: DemoToolStores): RunnableTool[] {
  const customers = new CustomerCollections(stores.db, new Set(stores.customerCollections));
  const workspace = new Workspace(stores.workspaceRoot);
  const tools = [
    customersQueryTool(customers),
    customersUpdateTool(customers),
    customersDeleteTool(customers),
    emailSendTool(stores.db),
    filesReadTool(workspace),
    filesWriteTool(workspace),
    filesDeleteTool(workspace),
    knowledgeSearchTool(stores.db, stores.knowledgeCollection),
    httpGetTool({ hosts: stores.httpAllowlist, maxBytes: stores.httpMaxBytes }),
    paymentsRefundTool(stores.db),
  ];
  return tools;
}

export { CustomerCollections, EFFECTS_FIELD, publicRecord } from './customers-store.js';
export { hostAllowed } from './http-get.js';
export { Workspace } from './workspace.js';
