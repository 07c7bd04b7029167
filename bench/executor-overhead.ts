/**
 * Executor overhead per call, without the tool's own time (a no-op tool), and the effect ledger's cost per effect
 * on the local MongoDB-wire server. Baselines measured in the same run: a bare call of the tool, and one raw
 * insertOne (the ledger writes three: intent, dispatch, outcome).
 */
import { randomUUID } from 'node:crypto';
import {
  canonicalHash,
  eventDataSchemas,
  generateSigningKeyPair,
  MongoBlobStore,
  signVerdict,
  type EventData,
} from '@warden/contracts';
import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import type { HandlerContext } from '@warden/runtime';
import { createRunnableToolRegistry, defineRunnableTool, defineTool } from '@warden/tools';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { z } from 'zod';
import {
  callTool,
  checkApproval,
  checkVerdictSignature,
  EffectLedger,
  executeApproval,
  ToolBreakers,
  type Approval,
  type ExecutorHandlerDeps,
  type KnownTask,
} from '../services/executor/src/index.js';
import { benchEndpoints, report, timeEachAsync } from './support.js';
import { benchSetting } from './config.js';

const N = benchSetting('BENCH_N', 300);
const logger = pino({ level: 'silent' });
const noDecisionKeys = { keys: new Map(), insecureAcceptUnsigned: false };
const guardKeys = generateSigningKeyPair('bench-guard');
const verdictTrust = {
  keys: new Map([[guardKeys.verifyingKey.keyId, guardKeys.verifyingKey]]),
  insecureAcceptUnsigned: false,
};
const noop = defineRunnableTool({
  spec: defineTool({
    name: 'bench.noop',
    description: 'does nothing',
    destructive: true,
    argsSchema: z.object({ id: z.string(), amountUsd: z.number() }).strict(),
    outputSchema: z.object({ ok: z.boolean(), id: z.string() }),
    riskTier: 'low',
    resources: {},
    criticalFields: [],
  }),
  run: (args) => Promise.resolve({ ok: true, id: args.id }),
});
const tools = createRunnableToolRegistry([noop]);
const breakerSettings = {
  errorThresholdPercent: 50,
  rollingWindowMs: 60_000,
  rollingBuckets: 10,
  volumeThreshold: 5,
  consecutiveFailures: 5,
  resetTimeoutMs: 30_000,
};
const signal = new AbortController().signal;

/** An approval as the guard signs it (signed before timing starts: the guard's cost, not the executor's). */
function approval(i: number, run: string): Approval {
  const args = { id: `r-${i}`, amountUsd: 12.5 };
  const taskId = `bench-${run}-${i}`;
  const h = 'a'.repeat(64);
  const data: EventData<'ActionApproved'> = eventDataSchemas.ActionApproved.parse({
    proposalEventId: randomUUID(),
    proposalKind: 'action',
    actionId: 'a1',
    rulesEvaluated: [],
    ruleFired: null,
    reasonCode: 'allowed',
    policyVersion: 'v1',
    inputHashes: { proposal: h, state: h, policy: h },
    tool: 'bench.noop',
    args,
    argsHash: canonicalHash(args),
  });
  const signed = { ...data, signature: signVerdict('ActionApproved', taskId, 'bench', data, guardKeys.signingKey) };
  return {
    kind: 'ActionApproved',
    eventId: randomUUID(),
    taskId,
    tenantId: 'bench',
    actionId: 'a1',
    tool: 'bench.noop',
    args,
    argsHash: canonicalHash(args),
    policyVersion: 'v1',
    verdict: { tenantId: 'bench', data: signed },
  };
}

/** Every task is running, with the bench tool in scope (the task record's in-memory hit). */
/** What the executor knows of each approval's task, as its task state (ADR 0028) would give it: running, in scope. */
const runningTask = (taskId: string): KnownTask => ({
  task: {
    taskId,
    tenantId: 'bench',
    ended: false,
    scope: { tools: ['bench.noop'], resources: { collections: [], paths: [], hosts: [], recipients: [] } },
  },
  escalations: [],
});

const stubCtx = (): HandlerContext =>
  ({
    logger,
    signal,
    span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT), // a span that records nothing, as with tracing off
    attempt: 1,
    hash: 'a'.repeat(64),
    source: { topic: 't', partition: 0, offset: '0' },
    publish: () => Promise.resolve({}),
  }) as unknown as HandlerContext;

const endpoints = benchEndpoints();
const mongo = new MongoClient(endpoints.mongoUrl);
await mongo.connect();
const db = mongo.db(`bench_executor_${Date.now()}`);
try {
  console.log(`executor overhead, ${N} calls each (no-op tool: everything measured is the executor's own work)`);
  const bare = await timeEachAsync(N, (i) =>
    noop.run({ id: `r-${i}`, amountUsd: 1 }, { idempotencyKey: `bare:${i}`, signal, logger }),
  );
  const bareR = report('baseline: the tool called directly', bare);
  const breakers = new ToolBreakers(breakerSettings, 'bench', logger);
  const core = await timeEachAsync(N, async (i) => {
    const a = approval(i, 'core');
    const check = checkApproval(a, tools, new Date(), noDecisionKeys);
    if (!check.ok) throw new Error(check.message);
    await breakers.fire('bench.noop', () =>
      callTool(check.tool, check.args, { idempotencyKey: `${a.taskId}:a1`, timeoutMs: 10_000, logger, signal }),
    );
  });
  const coreR = report('checks + breaker + cancelling timeout + output', core);
  const signedApprovals = Array.from({ length: N }, (_, i) => approval(i, 'sig'));
  const sig = await timeEachAsync(N, (i) => {
    const check = checkVerdictSignature(signedApprovals[i]!, verdictTrust);
    if (!check.ok) throw new Error(check.message);
    return Promise.resolve();
  });
  report("the guard's signature checked (Ed25519 verify over the verdict's canonical JSON)", sig);

  const rawCol = db.collection<{ _id: string; at: Date }>('bench_raw');
  const raw = await timeEachAsync(N, (i) => rawCol.insertOne({ _id: `raw-${i}`, at: new Date() }));
  const rawR = report('baseline: one raw insertOne', raw);
  const ledger = new EffectLedger(db, { blobs: new MongoBlobStore(db) });
  const perEffect = await timeEachAsync(N, async (i) => {
    const key = `ledger-${i}:a1`;
    await ledger.recordIntent(key, { tool: 'bench.noop', argsHash: 'h', approvalEventId: 'e' });
    await ledger.dispatch(key, 1, 'bench', new Date(Date.now() + 10_000));
    await ledger.finish(key, { status: 'committed', result: { ok: true }, durationMs: 0, approvalEventId: 'e' });
  });
  const ledgerR = report('effect ledger: intent + dispatch + outcome', perEffect);

  const deps: ExecutorHandlerDeps = {
    tools,
    ledger,
    breakers: new ToolBreakers(breakerSettings, 'bench', logger),
    replicaId: 'bench',
    defaultTimeoutMs: 10_000,
    leaseGraceMs: 1_000,
    maxDispatches: 3,
    escalationTtlMs: 3_600_000,
    now: () => new Date(),
    decisionTrust: noDecisionKeys,
    verdictTrust,
    taskWaitMs: 0,
  };
  const fullApprovals = Array.from({ length: N }, (_, i) => approval(i, 'full'));
  const full = await timeEachAsync(N, (i) =>
    executeApproval(deps, fullApprovals[i]!, stubCtx(), runningTask(fullApprovals[i]!.taskId)),
  );
  const fullR = report('executeApproval end to end (no Kafka)', full);
  const redelivered = await timeEachAsync(N, (i) =>
    executeApproval(deps, fullApprovals[i]!, stubCtx(), runningTask(fullApprovals[i]!.taskId)),
  );
  const ledgerDuplicateR = report('a duplicate approval (ledger lookup, nothing run)', redelivered);
  // The executor's worker answers it from the task's state instead (ADR 0028): the effect is there once its outcome
  // went out with the committed state.
  const fromState = await timeEachAsync(N, (i) => {
    const a = fullApprovals[i]!;
    const effects = [{ actionId: a.actionId, argsHash: a.argsHash, approvalEventId: a.eventId }];
    return executeApproval(deps, a, stubCtx(), { ...runningTask(a.taskId), effects });
  });
  const stateDuplicateR = report("a duplicate approval answered from the task's state (no ledger read)", fromState);
  console.log(
    `duplicate approval: ledger ${(ledgerDuplicateR.p50 / 1000).toFixed(2)} ms p50, task state ${(stateDuplicateR.p50 / 1000).toFixed(3)} ms p50`,
  );

  console.log(
    `overhead without the ledger: ${(coreR.p50 - bareR.p50).toFixed(1)} us p50; ledger per effect: ${(ledgerR.p50 / 1000).toFixed(2)} ms p50 = ${(ledgerR.p50 / rawR.p50).toFixed(2)} raw inserts; end to end ${(fullR.p50 / 1000).toFixed(2)} ms p50`,
  );
  breakers.shutdown();
  deps.breakers.shutdown();
} finally {
  await db.dropDatabase().catch(() => undefined);
  await mongo.close();
}
