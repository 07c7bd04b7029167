import { readFileSync } from 'node:fs';
import { canonicalHash, canonicalJson, eventDataSchemas, sha256Hex } from '@warden/contracts';
import { buildCheckContext, checkSchema, checkScope, checkMagnitude, checkGrounding, checkConfidence, groundingCorpus, claimProblem, salientLiterals, loadPolicy, decide, fastCanonicalJson, fastCanonicalHash, evaluateRule, type ActionProposal, type GuardState } from '@warden/guard-service';
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


function t(label: string, fn: () => unknown) { for (let i=0;i<3000;i++) fn(); const n=20000; const s=process.hrtime.bigint(); for (let i=0;i<n;i++) fn(); console.log(label.padEnd(30), (Number(process.hrtime.bigint()-s)/1000/n).toFixed(2), 'us'); }
const ctx = buildCheckContext(state, proposal, policy);
const sj = fastCanonicalJson(state);
t('fastCanonicalJson(state)', () => fastCanonicalJson(state));
t('sha256Hex(stateJson)', () => sha256Hex(sj));
t('JSON.stringify(state)', () => JSON.stringify(state));
t('fastCanonicalHash(proposal)', () => fastCanonicalHash(proposal));
t('buildCheckContext', () => buildCheckContext(state, proposal, policy));
t('schema', () => checkSchema(ctx));
t('scope', () => checkScope(ctx));
t('magnitude', () => checkMagnitude(ctx));
t('grounding', () => checkGrounding(ctx));
t('claimProblem', () => claimProblem(proposal.claims[0]!, 0, state));
t('salientLiterals', () => salientLiterals(proposal.claims[0]!.text));
t('confidence', () => checkConfidence(ctx));
t('decide', () => decide(state, proposal, policy));
const PLAIN = /^[^"\\\u0000-\u001f\uD800-\uDFFF]*$/;
function ws(t: string): string { return PLAIN.test(t) ? `"${t}"` : JSON.stringify(t); }
function v2(value: unknown, depth: number): string {
  if (typeof value === 'string') return ws(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (Array.isArray(value)) { let o = '['; for (let i = 0; i < value.length; i++) { if (i) o += ','; o += v2(value[i], depth + 1); } return o + ']'; }
  const r = value as Record<string, unknown>; const keys = Object.keys(r).sort(); let o = '{'; let f = true;
  for (const k of keys) { const it = r[k]; if (it === undefined) continue; if (!f) o += ','; f = false; o += ws(k) + ':' + v2(it, depth + 1); }
  return o + '}';
}
t('v2 no toJSON/ancestors', () => v2(state, 0));
const kc = new Map<string,string>();
function v3(value: unknown): string {
  if (typeof value === 'string') return ws(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (Array.isArray(value)) { const parts = value.map(v3); return '[' + parts.join(',') + ']'; }
  const r = value as Record<string, unknown>; const keys = Object.keys(r); keys.sort(); const parts: string[] = [];
  for (const k of keys) { const it = r[k]; if (it === undefined) continue; let q = kc.get(k); if (q === undefined) { q = ws(k) + ':'; kc.set(k, q); } parts.push(q + v3(it)); }
  return '{' + parts.join(',') + '}';
}
t('v3 join + key cache', () => v3(state));
t('keys only walk', () => { let n = 0; const w = (v: unknown): void => { if (v && typeof v === 'object') { if (Array.isArray(v)) v.forEach(w); else { const ks = Object.keys(v).sort(); n += ks.length; for (const k of ks) w((v as Record<string, unknown>)[k]); } } }; w(state); return n; });
import { deepFreeze as df } from '@warden/guard-service';
const kept2 = df({ task: structuredClone(state.task), toolResults: structuredClone(state.toolResults), facts: structuredClone(state.facts) });
const ws2: GuardState = { ...kept2, taskId: state.taskId, tenantId: state.tenantId, approvedImpact: { ...state.approvedImpact }, impact: { rows: 2, files: 0, recipients: 0, moneyUsd: 0 } };
const ctx2 = buildCheckContext(ws2, proposal, policy);
t('warm fastCanonicalHash(state)', () => fastCanonicalHash(ws2));
t('warm grounding', () => checkGrounding(ctx2));
t('warm claimProblem', () => claimProblem(proposal.claims[0]!, 0, ws2));
t('salientLiterals', () => salientLiterals(proposal.claims[0]!.text));
t('warm decide', () => decide(ws2, proposal, policy));
const rin = { kind: 'action' as const, tool: 'customers.delete', tier: 'critical' as const, destructive: true, args, impact: ws2.impact, cumulativeImpact: ws2.impact, answer: null, calibratedConfidence: 0.92, claimsCount: 1 };
t('rules', () => policy.rules.map((r) => evaluateRule(r, rin)));
t('warm fastCanonicalJson(state)', () => fastCanonicalJson(ws2));
const j2 = fastCanonicalJson(ws2);
t('sha256Hex(j2)', () => sha256Hex(j2));
t('fastCanonicalJson(task)', () => fastCanonicalJson(ws2.task));
console.log(Object.isFrozen(ws2.task), Object.isFrozen(ws2.task.scope.resources.collections));
import { createHash } from 'node:crypto';
t('createHash small', () => createHash('sha256').update('abc').digest('hex'));
t('hash fresh state json', () => sha256Hex(fastCanonicalJson(ws2)));
t('hash fresh state json (buffer)', () => createHash('sha256').update(Buffer.from(fastCanonicalJson(ws2), 'utf8')).digest('hex'));
t('flatten only', () => { const x = fastCanonicalJson(ws2); return x.charCodeAt(x.length >> 1); });
