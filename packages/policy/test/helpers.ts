import { readFileSync } from 'node:fs';
import { canonicalHash, eventDataSchemas, noImpact, type Claim, type Impact, type JsonValue } from '@warden/contracts';
import {
  loadPolicy,
  type ActionProposal,
  type AnswerProposal,
  type GuardState,
  type LoadPolicyOptions,
  type Policy,
  type TaskData,
} from '../src/index.js';

/** The default policy file, parsed (not loaded). */
export function defaultPolicyDocument(): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('../policies/default.v1.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The default policy, loaded. */
export const defaultPolicy: Policy = loadPolicy(defaultPolicyDocument());

/** The default policy with changes to its document (shallow per top-level key). */
export function policyWith(change: (doc: Record<string, unknown>) => void, options: LoadPolicyOptions = {}): Policy {
  const doc = structuredClone(defaultPolicyDocument());
  change(doc);
  return loadPolicy(doc, options);
}

export const TASK_ID = 'task-1';
export const TENANT_ID = 'tenant-a';

export const allTools = [
  'customers.query',
  'customers.update',
  'customers.delete',
  'email.send',
  'files.read',
  'files.write',
  'files.delete',
  'knowledge.search',
  'http.get',
  'payments.refund',
];

/** The TaskSubmitted data every test starts from. */
export function baseTaskInput(): Record<string, unknown> {
  return {
    goal: 'Clean up inactive customers C-1001 and C-1002 in crm_customers, e-mail ops@example.com a summary and refund order ORD-77 ($120.50).',
    input: {
      customerIds: ['C-1001', 'C-1002'],
      notify: 'ops@example.com',
      partner: 'jane@partner.org',
      order: { id: 'ORD-77', amountUsd: 120.5 },
      newCreditLimitUsd: 5000,
      reportPath: '/data/reports/summary.csv',
      archiveDir: '/data/reports/archive',
    },
    requester: { id: 'user-1', kind: 'user' },
    scope: {
      tools: allTools,
      resources: {
        collections: ['crm_*'],
        paths: ['/data/reports/**'],
        hosts: ['api.example.com', '*.docs.example.com'],
        recipients: ['*@example.com'],
      },
    },
    limits: {
      maxRowsPerAction: 100,
      maxRowsPerTask: 500,
      maxFilesPerAction: 50,
      maxFilesPerTask: 200,
      maxRecipientsPerAction: 5,
      maxRecipientsPerTask: 20,
      maxMoneyUsdPerAction: 200,
      maxMoneyUsdPerTask: 1000,
    },
    budgets: { maxTokens: 100_000, maxCostUsd: 10, maxSteps: 50, maxWallTimeMs: 3_600_000 },
    risk: { onMagnitudeExceeded: 'deny', maxConsecutiveFailures: 3 },
  };
}

/** Parses TaskSubmitted data after `change` edits the raw input. */
export function taskWith(change: (task: Record<string, unknown>) => void = () => undefined): TaskData {
  const raw = baseTaskInput();
  change(raw);
  return eventDataSchemas.TaskSubmitted.parse(raw);
}

/** An impact with the given dimensions, the rest zero. */
export function impact(figures: Partial<Impact>): Impact {
  return { ...noImpact, ...figures };
}

/** The guard state every test starts from. */
export function baseState(overrides: Partial<GuardState> = {}): GuardState {
  return {
    taskId: TASK_ID,
    tenantId: TENANT_ID,
    task: taskWith(),
    approvedImpact: noImpact,
    toolResults: [
      {
        actionId: 'a1',
        tool: 'customers.query',
        result: {
          rows: [
            { id: 'C-1001', email: 'c1001@example.com', status: 'inactive', orders: 0 },
            { id: 'C-1002', email: 'c1002@example.com', status: 'inactive', orders: 2 },
            { id: 'C-1003', email: 'c1003@example.com', status: 'inactive', orders: 4 },
          ],
          total: 3,
        },
      },
      {
        actionId: 'a2',
        tool: 'knowledge.search',
        result: {
          hits: [{ sourceId: 'kb:refunds', text: 'Refunds up to $200 are approved automatically', score: 0.9 }],
        },
      },
    ],
    facts: [{ sourceId: 'kb:refunds', text: 'Refunds up to $200 are approved automatically.' }],
    impact: null,
    ...overrides,
  };
}

/** Options of a test proposal. */
export interface ProposalOptions {
  confidence?: number;
  calibrated?: number;
  claims?: Claim[];
  argsHash?: string;
  tenantId?: string;
  taskId?: string;
  actionId?: string;
}

/** An action proposal with a correct args hash (unless given one). */
export function act(tool: string, args: Record<string, JsonValue>, options: ProposalOptions = {}): ActionProposal {
  return {
    kind: 'action',
    taskId: options.taskId ?? TASK_ID,
    tenantId: options.tenantId ?? TENANT_ID,
    actionId: options.actionId ?? 'a10',
    tool,
    args,
    argsHash: options.argsHash ?? canonicalHash(args),
    confidence: {
      value: options.confidence ?? 0.97,
      source: 'structured',
      ...(options.calibrated === undefined ? {} : { calibrated: options.calibrated }),
    },
    claims: options.claims ?? [],
  };
}

/** An answer proposal. */
export function answer(text: string, options: ProposalOptions & { output?: JsonValue } = {}): AnswerProposal {
  return {
    kind: 'answer',
    taskId: options.taskId ?? TASK_ID,
    tenantId: options.tenantId ?? TENANT_ID,
    actionId: options.actionId ?? 'a99',
    answer: text,
    ...(options.output === undefined ? {} : { output: options.output }),
    confidence: { value: options.confidence ?? 0.97, source: 'structured' },
    claims: options.claims ?? [],
  };
}
