/** The demo tool set lives in @warden/tools (shared with the planner and the executor). */
export {
  customersDelete,
  customersQuery,
  customersUpdate,
  demoTools,
  emailSend,
  filesDelete,
  filesRead,
  filesWrite,
  httpGet,
  knowledgeSearch,
  paymentsRefund,
} from '@warden/tools';
