import {
  CustomerCollections,
  Workspace,
  customersDeleteTool,
  customersQueryTool,
  customersUpdateTool,
  emailSendTool,
  filesDeleteTool,
  filesReadTool,
  filesWriteTool,
  httpGetTool,
  knowledgeSearchTool,
  paymentsRefundTool,
  type RunnableTool,
} from '@warden/tools';
import type { Db } from 'mongodb';

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

export { CustomerCollections, EFFECTS_FIELD, Workspace, hostAllowed, publicRecord } from '@warden/tools';
