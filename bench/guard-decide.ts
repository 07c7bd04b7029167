/**
 * Bench: decide() latency on a typical proposal (a destructive customers.delete with an impact estimate, a grounded
 * id, one claim with evidence, the default policy's six rules), against a baseline measured in the same run: the
 * zod parse of the same args alone. Targets: p50 <= 50 us, p99 <= 500 us.
 *
 *   npx tsx --conditions=@warden/source bench/guard-decide.ts [--iterations 20000] [--warmup 2000]
 */
import { readFileSync } from 'node:fs';
import { canonicalHash, canonicalJson, deepFreeze, eventDataSchemas } from '@warden/contracts';
import { DEFAULT_POLICY_FILE, decide, loadPolicy, type ActionProposal, type GuardState } from '@warden/policy';
import { customersDelete } from '@warden/tools';

const TARGET_P50_US = 50;
const TARGET_P99_US = 500;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? undefined : Number(process.argv[at + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

const iterations = arg('iterations', 20_000);
const warmup = arg('warmup', 2_000);

const policy = loadPolicy(readFileSync(DEFAULT_POLICY_FILE, 'utf8'));

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
  claims: [
    { text: 'C-1001 and C-1002 are inactive with 0 and 1 orders', evidence: [{ kind: 'tool_result', ref: 'a1' }] },
  ],
};

/** Times `fn` per call; `prepare` (untimed) builds each call's input. */
function measure<T>(
  label: string,
  prepare: (i: number) => T,
  fn: (input: T) => unknown,
): { p50: number; p99: number; mean: number } {
  for (let i = 0; i < warmup; i += 1) fn(prepare(i));
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i += 1) {
    const input = prepare(i);
    const start = process.hrtime.bigint();
    fn(input);
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
  }
  samples.sort();
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const result = { p50: at(0.5), p99: at(0.99), mean };
  console.log(
    `${label.padEnd(44)} p50 ${result.p50.toFixed(1).padStart(7)} us   p99 ${result.p99.toFixed(1).padStart(7)} us   mean ${mean.toFixed(1).padStart(7)} us`,
  );
  return result;
}

const check = decide(state, proposal, policy);
if (check.outcome !== 'allow') {
  console.error(`the bench proposal should be allowed, got ${check.outcome} ${check.reasonCode}: ${check.message}`);
  process.exit(1);
}

/**
 * Warm: what the guard's handler does. The task data, tool results and facts come from events and are kept deeply
 * frozen, so their canonical form is computed once per task; each proposal brings a new state object with its own
 * impact and approved totals, and a new proposal.
 */
const kept = deepFreeze({
  task: structuredClone(state.task),
  toolResults: structuredClone(state.toolResults),
  facts: structuredClone(state.facts),
});
const warmInput = (i: number): { s: GuardState; p: ActionProposal } => ({
  s: {
    ...kept,
    taskId: state.taskId,
    tenantId: state.tenantId,
    approvedImpact: { ...state.approvedImpact },
    impact: { rows: 2, files: 0, recipients: 0, moneyUsd: 0 },
  },
  p: { ...proposal, actionId: `a${i}` },
});
/** Cold: every input is a fresh, unfrozen copy, so nothing is remembered between calls. */
const coldInput = (): { s: GuardState; p: ActionProposal } => ({
  s: structuredClone(state),
  p: structuredClone(proposal),
});

console.log(
  `guard decide() bench: ${iterations} iterations after ${warmup} warm-up, node ${process.version}, policy ${policy.version}`,
);
console.log(
  `state: canonical JSON ${canonicalJson(state).length} bytes, ${state.toolResults.length} tool result(s) of 20 rows, ${policy.rules.length} policy rules`,
);
const baseline = measure(
  'baseline: zod parse of the args',
  () => args,
  (a) => customersDelete.argsSchema.safeParse(a),
);
const hashes = measure(
  'baseline: contracts canonicalHash(state)',
  () => state,
  (s) => canonicalHash(s),
);
const warm = measure('decide(), handler-kept frozen task data', warmInput, ({ s, p }) => decide(s, p, policy));
const cold = measure('decide(), cold (fresh unfrozen copies)', coldInput, ({ s, p }) => decide(s, p, policy));
console.log(
  `ratio decide/zod-parse p50: warm x${(warm.p50 / baseline.p50).toFixed(1)}, cold x${(cold.p50 / baseline.p50).toFixed(1)}; ` +
    `contracts canonicalHash(state) alone: ${hashes.p50.toFixed(1)} us p50`,
);
const verdict = (r: { p50: number; p99: number }): string =>
  `${r.p50 <= TARGET_P50_US && r.p99 <= TARGET_P99_US ? 'PASS' : 'FAIL'} (p50 ${r.p50.toFixed(1)} us <= ${TARGET_P50_US}? p99 ${r.p99.toFixed(1)} us <= ${TARGET_P99_US}?)`;
console.log(`warm: ${verdict(warm)}`);
console.log(`cold: ${verdict(cold)}`);
const pass = warm.p50 <= TARGET_P50_US && warm.p99 <= TARGET_P99_US;
console.log(
  pass ? "PASS: decide() meets its targets in the handler's steady state" : 'FAIL: decide() misses its targets',
);
process.exitCode = pass ? 0 : 1;
