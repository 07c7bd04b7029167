/**
 * The demo tool set: one file per tool under tools/, listed once here. The planner offers these to the model, the
 * guard checks calls against them and sizes destructive ones by their own dry runs, the executor runs them.
 */
import { demoToolDeps, type DemoImpactDeps, type DemoToolDeps, type DemoToolStores } from './demo-deps.js';
import { bindTool, createToolDefinitionRegistry, type RunnableTool, type ToolDefinitionRegistry } from './runnable.js';
import { customersDelete } from './tools/customers-delete.js';
import { customersQuery } from './tools/customers-query.js';
import { customersRestore } from './tools/customers-restore.js';
import { customersRevert } from './tools/customers-revert.js';
import { customersUpdate } from './tools/customers-update.js';
import { emailSend } from './tools/email-send.js';
import { filesDelete } from './tools/files-delete.js';
import { filesRead } from './tools/files-read.js';
import { filesRestore } from './tools/files-restore.js';
import { filesWrite } from './tools/files-write.js';
import { httpGet } from './tools/http-get.js';
import { knowledgeSearch } from './tools/knowledge-search.js';
import { paymentsRefund } from './tools/payments-refund.js';

/** The demo tools, by name. Adding one: its file under tools/, its test, one entry here (docs/adding-a-tool.md). */
export const demoTools: ToolDefinitionRegistry<DemoToolDeps, DemoImpactDeps> = createToolDefinitionRegistry([
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
  customersRestore,
  customersRevert,
  filesRestore,
]);

/** The demo tools bound to their stores: what the executor runs. */
export function createDemoTools(stores: DemoToolStores): RunnableTool[] {
  const deps = demoToolDeps(stores);
  return [...demoTools.values()].map((tool) => bindTool(tool, deps));
}
