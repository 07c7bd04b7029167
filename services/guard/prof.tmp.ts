import { readFileSync } from 'node:fs';
import { canonicalHash, canonicalJson, eventDataSchemas } from '@warden/contracts';
import { buildCheckContext, checkSchema, checkScope, checkMagnitude, checkGrounding, checkConfidence, groundingCorpus, claimProblem, salientLiterals, loadPolicy, decide, type ActionProposal, type GuardState } from '@warden/guard-service';
const policy = loadPolicy(readFileSync('services/guard/policies/default.v1.json', 'utf8'));

const task = eventDataSchemas.TaskSubmitted.parse({
  goal: 'Delete the inactive duplicate customer records C-1001 and C-1002 from crm_customers.',
  input: { customerIds: ['C-1001', 'C-1002'], ticket: 'SUP-5531', requestedBy: 'ops@example.com' },
  requester: { id: 'user-1', kind: 'user' },
  scope: {
    tools: ['customers.query', 'customers.delete', 'email.send'],
    resources: { collections: ['crm_*'], paths: [], hosts: [], recipients: ['*@example.com'] },
  },
  limits: {
    maxRowsPerAction: 100,
    maxRowsPerTask: 500,
    maxFilesPerAction: 10,
    maxFilesPerTask: 50,
    maxRecipientsPerAction: 5,
    maxRecipientsPerTask: 20,
    maxMoneyUsdPerAction: 200,
    maxMoneyUsdPerTask: 1_000,
  },
  budgets: { maxTokens: 100_000, maxCostUsd: 10, maxSteps: 50, maxWallTimeMs: 3_600_000 },
  risk: { onMagnitudeExceeded: 'deny', maxConsecutiveFailures: 3 },
});

const state: GuardState = {
  taskId: 'task-1',
  tenantId: 'tenant-a',
  task,
  approvedImpact: { rows: 1, files: 0, recipients: 0, moneyUsd: 0 },
  toolResults: [
    {
      actionId: 'a1',
      tool: 'customers.query',
      result: {
        rows: Array.from({ length: 20 }, (_, i) => ({
          id: `C-${1001 + i}`,
          email: `c${1001 + i}@example.com`,
          status: i < 2 ? 'inactive' : 'active',
          orders: i,
        })),
        total: 20,
      },
    },
  ],
  facts: [{ sourceId: 'kb:merge-policy', text: 'Duplicate records with zero orders may be deleted after merging.' }],
  impact: { rows: 2, files: 0, recipients: 0, moneyUsd: 0 },
};

const args = { collection: 'crm_customers', ids: ['C-1001', 'C-1002'] };
const proposal: ActionProposal = {
  kind: 'action',
  taskId: 'task-1',
  tenantId: 'tenant-a',
  actionId: 'a2',
  tool: 'customers.delete',
  args,
  argsHash: canonicalHash(args),
  confidence: { value: 0.97, source: 'structured' },
  claims: [{ text: 'C-1001 and C-1002 are inactive with 0 and 1 orders', evidence: [{ kind: 'tool_result', ref: 'a1' }] }],
};


function t(label: string, fn: () => unknown) { for (let i=0;i<2000;i++) fn(); const n=10000; const s=process.hrtime.bigint(); for (let i=0;i<n;i++) fn(); console.log(label.padEnd(30), (Number(process.hrtime.bigint()-s)/1000/n).toFixed(2), 'us'); }
const ctx = buildCheckContext(state, proposal, policy);
console.log('state json chars', canonicalJson(state).length);
t('canonicalJson(state)', () => canonicalJson(state));
t('JSON.stringify(state)', () => JSON.stringify(state));
t('canonicalHash(proposal)', () => canonicalHash(proposal));
t('canonicalHash(args)', () => canonicalHash(args));
t('buildCheckContext', () => buildCheckContext(state, proposal, policy));
t('schema', () => checkSchema(ctx));
t('scope', () => checkScope(ctx));
t('magnitude', () => checkMagnitude(ctx));
t('grounding', () => checkGrounding(ctx));
t('groundingCorpus', () => groundingCorpus(state));
t('claimProblem', () => claimProblem(proposal.claims[0]!, 0, state));
t('salientLiterals', () => salientLiterals(proposal.claims[0]!.text));
t('confidence', () => checkConfidence(ctx));
t('decide', () => decide(state, proposal, policy));
