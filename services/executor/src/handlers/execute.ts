import {
  MAX_MESSAGE_CHARS,
  MAX_NOTE_CHARS,
  clipText,
  isIdentifier,
  isWardenError,
  SEALED_FIELD,
  type DecisionTrust,
  type HeldEscalation,
  type JsonObject,
  type VerdictTrust,
  type JsonValue,
  type OnOpened,
} from '@warden/contracts';
import { abortableSleep, type ExecutorMetrics, type HandlerContext } from '@warden/runtime';
import { OpenedValues, type RunnableTool, type RunnableToolRegistry, type ToolSpec } from '@warden/tools';
import { checkApproval, RefusalCodes, type Approval, type RefusalCode } from '../approval.js';
import type { BreakerTransition, ToolBreakers } from '../breakers.js';
import { callTool, checkOutput } from '../call.js';
import { endToolSpan, startToolSpan } from '../telemetry.js';
import { InvalidToolOutputError, LedgerConflictError, ToolRefusedError, ToolTimeoutError } from '../errors.js';
import type { EffectLedger, EffectState, FailureClass, OutcomeRecord } from '../ledger.js';
import { checkTaskScope, checkVerdictSignature } from '../task-check.js';
import type { DoneEffect, HeldTask } from '../task-state.js';

/** What running an approval needs of its handler's (or a wake-up's) context. */
export type ExecuteContext = Pick<HandlerContext, 'logger' | 'signal' | 'span' | 'publish'> & {
  /** Told of each effect whose recorded outcome is published (kept in the task's state, committed with it). */
  readonly recorded?: (effect: DoneEffect) => void;
};

/** What the executor knows of an approval's task, from the task's state (ADR 0028). */
export interface KnownTask {
  /** The task, or undefined when neither its TaskSubmitted nor its end has been seen. */
  readonly task: HeldTask | undefined;
  /** The escalations of the task that a person's approval may answer. */
  readonly escalations: readonly HeldEscalation[];
  /** The task's effects whose outcomes were published with its committed state. */
  readonly effects?: readonly DoneEffect[];
}

/** Test hooks at the two moments a crash matters (the SIGKILL test pauses the process there). */
export interface ExecutorHooks {
  /** After the dispatch is recorded, before the tool runs. */
  readonly afterDispatch?: (key: string) => Promise<void>;
  /** After the tool returned, before its outcome is recorded. */
  readonly beforeCommit?: (key: string) => Promise<void>;
}

/** What the executor's handlers need. */
export interface ExecutorHandlerDeps {
  readonly tools: RunnableToolRegistry;
  readonly ledger: EffectLedger;
  readonly breakers: ToolBreakers;
  readonly replicaId: string;
  /** Timeout of a tool without its own. */
  readonly defaultTimeoutMs: number;
  /** Added to a dispatch's timeout to form its lease: nobody reconciles an effect before its lease expires. */
  readonly leaseGraceMs: number;
  /** Dispatches of one effect before it is declared outcome_unknown. */
  readonly maxDispatches: number;
  /** How long a person has to answer the executor's escalations. */
  readonly escalationTtlMs: number;
  readonly now: () => Date;
  readonly hooks?: ExecutorHooks;
  /** Which signatures a person's approval must carry (WARDEN_DECISION_PUBLIC_KEYS); no keys: every one is refused. */
  readonly decisionTrust: DecisionTrust;
  /** Which keys the guard's verdicts must be signed with (WARDEN_GUARD_PUBLIC_KEYS); no keys: every one is refused. */
  readonly verdictTrust: VerdictTrust;
  /**
   * How long an authenticated approval waits, in its task's state, for the task's TaskSubmitted, which travels on
   * another topic and may be consumed later; it runs when the TaskSubmitted comes, else is refused as task_unknown.
   */
  readonly taskWaitMs: number;
  /** How long a completed or failed task's record is kept before it is deleted (0: for ever). */
  readonly endedTaskRetentionMs?: number;
  /**
   * Seals the personal data of a result before it is published (ADR 0026), and (`opened`) whatever repeats a value
   * opened from the args; absent: results go out as they are.
   */
  readonly sealResult?: (
    spec: ToolSpec,
    tenantId: string,
    result: JsonValue,
    opened?: OpenedValues,
  ) => Promise<JsonValue>;
  /**
   * Opens the sealed values of an approval's args in memory (ADR 0026: the planner seals what the model repeats),
   * telling each one opened to `onOpened`; `erased` when one could not be (its subject was erased). Absent: args
   * are run as they are.
   */
  readonly openArgs?: (args: JsonObject, onOpened: OnOpened) => Promise<{ args: JsonObject; erased: boolean }>;
  /** Set per approval whose args were opened: seals again what a failure's message quotes of them (ADR 0026). */
  readonly sealFailure?: (message: string) => Promise<string>;
  /** Seals again, in a text the executor publishes, what quotes a value opened from the args (ADR 0026). */
  readonly resealText?: (text: string, opened: OpenedValues, tenantId: string, maxChars: number) => Promise<string>;
  /** Tool calls and breakers on the worker's /metrics; none in unit tests. */
  readonly metrics?: ExecutorMetrics;
}

/** A message clipped to what the events' message fields hold. */
const clip = (s: string): string => clipText(s, MAX_MESSAGE_CHARS);

/** The effect's idempotency key. */
export const effectKeyOf = (approval: Pick<Approval, 'taskId' | 'actionId'>): string =>
  `${approval.taskId}:${approval.actionId}`;

/**
 * Handles one approval against what is known of its task: refuse it, or run its effect exactly once through the
 * ledger (intent → dispatch → committed / failed) and the tool's breaker, and publish the outcome. A redelivered
 * approval republishes the recorded outcome; an effect dispatched but never finished is reconciled through the
 * tool's verify() or escalated as outcome_unknown, never blindly re-run.
 */
export async function executeApproval(
  deps: ExecutorHandlerDeps,
  given: Approval,
  ctx: ExecuteContext,
  known: KnownTask,
): Promise<void> {
  if (given.tool === null) return; // an approved answer (by the guard or a person): nothing to run
  const key = effectKeyOf(given);
  ctx.span.setAttribute('warden.executor.effect_key', key);
  // Who vouches for it first (cheap, no I/O): a forged verdict is refused without touching any state, and without a
  // ToolFailed, which would tell a real task that an action it may still get approved had failed.
  const signed = checkVerdictSignature(given, deps.verdictTrust);
  if (!signed.ok) {
    await alertRefusal(given, ctx, signed.code, signed.message);
    return;
  }
  const { task } = known;
  // Sealed args (ADR 0026) are opened in memory: the scope, the schema and the tool see them clear; an erased value
  // leaves nothing to run (fail closed).
  const opened = new OpenedValues();
  const clear =
    deps.openArgs === undefined || given.args === null || !JSON.stringify(given.args).includes(SEALED_FIELD)
      ? undefined
      : await deps.openArgs(given.args, opened.record);
  if (clear?.erased === true) {
    const message = `the args of ${given.tool} hold personal data whose subject was erased: not run`;
    await refuse(deps, given, ctx, RefusalCodes.sealedValueErased, message);
    return;
  }
  const inScope = checkTaskScope(
    clear === undefined ? given : { ...given, args: clear.args },
    task,
    deps.tools.get(given.tool)?.spec,
  );
  if (!inScope.ok) {
    // the refusal names the resource it judged: opened from sealed args, it is sealed again (ADR 0026)
    const message =
      clear === undefined || deps.resealText === undefined || given.tenantId === undefined
        ? inScope.message
        : await deps.resealText(inScope.message, opened, given.tenantId, MAX_MESSAGE_CHARS);
    if (task?.scope === undefined || task.ended) await alertRefusal(given, ctx, inScope.code, message);
    else await refuse(deps, given, ctx, inScope.code, message); // the running task learns of it
    return;
  }
  const decision = given.kind === 'HumanApproved' ? given.decision : undefined;
  const held =
    decision === undefined ? undefined : known.escalations.find((e) => e.escalationId === decision.data.escalationId);
  // A person's approval runs within the task's wall time as the escalation stated it.
  const approval: Approval = held?.deadlineAt === undefined ? given : { ...given, deadlineAt: held.deadlineAt };
  const check = checkApproval(approval, deps.tools, deps.now(), deps.decisionTrust, held, clear?.args);
  if (!check.ok) {
    await refuse(deps, approval, ctx, check.code, check.message);
    return;
  }
  const { tool, args } = check;
  // An effect whose outcome went out with the task's committed state: answered from the state, not the ledger.
  const done = known.effects?.find((e) => e.actionId === approval.actionId);
  if (done !== undefined) {
    if (done.argsHash !== approval.argsHash) {
      await refuse(
        deps,
        approval,
        ctx,
        RefusalCodes.ledgerMismatch,
        `effect ${key} was recorded with args hash ${done.argsHash}, not ${approval.argsHash}`,
      );
    } else if (done.approvalEventId !== approval.eventId) {
      ctx.logger.warn({ key }, 'another approval of an effect already done: not run again');
    } // else the same approval again: its outcome was published in the transaction that committed this state
    return;
  }
  // What the result repeats of the opened args is sealed again under the same subjects (ADR 0026).
  // What a failure's message quotes of them (a tool's error) too.
  const { sealResult, resealText } = deps;
  const tenantId = approval.tenantId;
  const run: ExecutorHandlerDeps =
    clear === undefined
      ? deps
      : {
          ...deps,
          ...(sealResult === undefined ? {} : { sealResult: (spec, t, result) => sealResult(spec, t, result, opened) }),
          ...(resealText === undefined || tenantId === undefined
            ? {}
            : { sealFailure: (message) => resealText(message, opened, tenantId, MAX_MESSAGE_CHARS) }),
        };
  // A new effect that may be dispatched now claims its first dispatch in the intent's round trip (ADR 0028).
  const first = dispatchable(run, approval, tool, 1) ? dispatchClaim(run, tool, 1) : undefined;
  const intent = await run.ledger.recordIntent(
    key,
    { tool: tool.spec.name, argsHash: approval.argsHash, approvalEventId: approval.eventId },
    run.now(),
    first,
  );
  if (intent.created && intent.dispatched && first !== undefined) {
    await runDispatched(run, approval, tool, args, key, first.attempt, ctx);
    return;
  }
  if (!intent.created) {
    const state = intent.state;
    if (state.intent !== undefined && state.intent.argsHash !== approval.argsHash) {
      await refuse(
        deps,
        approval,
        ctx,
        RefusalCodes.ledgerMismatch,
        `effect ${key} was recorded with args hash ${state.intent.argsHash}, not ${approval.argsHash}`,
      );
      return;
    }
    if (state.outcome !== undefined) {
      if (state.outcome.approvalEventId === approval.eventId) {
        // Redelivered (its first handling's transaction aborted, or its offset was not committed): the same outputs
        // again, the outcome and what came with it.
        await publishRecorded(run, approval, tool, key, await sealedRecord(run, approval, tool, state.outcome), ctx);
      } else {
        ctx.logger.warn({ key }, 'another approval of an effect already done: not run again');
      }
      return;
    }
    if (state.dispatches.length > 0) {
      await reconcile(run, approval, tool, args, key, state, ctx);
      return;
    }
  }
  await dispatchAndRun(run, approval, tool, args, key, 1, ctx);
}

async function dispatchAndRun(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  args: JsonObject,
  key: string,
  attempt: number,
  ctx: ExecuteContext,
): Promise<void> {
  const name = tool.spec.name;
  // Budgets are checked before an effect, never only after it: past the task's wall time nothing new is dispatched
  // (a first dispatch, or another after verify() found the last one not applied). The refusal is recorded as the
  // effect's outcome, so a redelivered approval gets the same answer.
  if (pastDeadline(deps, approval)) {
    const outcome: OutcomeRecord = {
      status: 'failed',
      errorClass: 'refused',
      message: clip(`budget_exhausted: the task's wall time ran out at ${approval.deadlineAt}; ${name} not dispatched`),
      retryable: false,
      durationMs: 0,
      approvalEventId: approval.eventId,
    };
    ctx.logger.warn({ key, deadlineAt: approval.deadlineAt }, 'wall-time budget run out: effect not dispatched');
    await publishOutcome(approval, tool, key, await deps.ledger.finish(key, outcome), ctx);
    return;
  }
  if (!deps.breakers.allows(name)) {
    await breakerOpen(deps, approval, tool, key, ctx);
    return;
  }
  if (attempt > deps.maxDispatches) {
    await outcomeUnknown(deps, approval, tool, key, `dispatched ${attempt - 1} times without an outcome`, ctx);
    return;
  }
  const { leaseUntil } = dispatchClaim(deps, tool, attempt);
  if (!(await deps.ledger.dispatch(key, attempt, deps.replicaId, leaseUntil))) {
    throw new LedgerConflictError(`effect ${key} dispatch ${attempt} is held by another executor`, {
      details: { key },
    });
  }
  await runDispatched(deps, approval, tool, args, key, attempt, ctx);
}

function pastDeadline(deps: ExecutorHandlerDeps, approval: Approval): boolean {
  return approval.deadlineAt !== undefined && deps.now().getTime() > Date.parse(approval.deadlineAt);
}

/** Whether dispatch `attempt` may go ahead now: what dispatchAndRun checks before claiming it. */
function dispatchable(deps: ExecutorHandlerDeps, approval: Approval, tool: RunnableTool, attempt: number): boolean {
  return !pastDeadline(deps, approval) && deps.breakers.allows(tool.spec.name) && attempt <= deps.maxDispatches;
}

/** This replica's claim of dispatch `attempt`, leased for the tool's timeout and the grace. */
function dispatchClaim(deps: ExecutorHandlerDeps, tool: RunnableTool, attempt: number) {
  const timeoutMs = tool.timeoutMs ?? deps.defaultTimeoutMs;
  return {
    attempt,
    replicaId: deps.replicaId,
    leaseUntil: new Date(deps.now().getTime() + timeoutMs + deps.leaseGraceMs),
  };
}

/** Runs the tool of a dispatch this replica has claimed, records the outcome and publishes it. */
async function runDispatched(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  args: JsonObject,
  key: string,
  attempt: number,
  ctx: ExecuteContext,
): Promise<void> {
  const name = tool.spec.name;
  const timeoutMs = tool.timeoutMs ?? deps.defaultTimeoutMs;
  await deps.hooks?.afterDispatch?.(key);
  const started = performance.now();
  const span = startToolSpan(ctx.span, {
    tool: name,
    description: tool.spec.description,
    actionId: approval.actionId,
    taskId: approval.taskId,
    attempt,
  });
  const call = await deps.breakers.fire(name, () =>
    callTool(tool, args, {
      idempotencyKey: key,
      timeoutMs,
      logger: ctx.logger,
      signal: ctx.signal,
      ...(approval.tenantId === undefined ? {} : { tenantId: approval.tenantId }),
    }),
  );
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  const failure = call.ok ? undefined : classify(call.error);
  endToolSpan(
    span,
    failure === undefined
      ? { ok: true }
      : {
          ok: false,
          errorType: !call.ok && call.rejected ? 'breaker_open' : failure.errorClass,
          message: failure.message,
        },
  );
  deps.metrics?.toolCall(
    name,
    call.ok ? 'succeeded' : call.rejected ? 'breaker_open' : failure!.errorClass,
    durationMs / 1000,
  );
  if (!call.ok && call.rejected) {
    // The breaker opened between the check and the call: the tool never ran. No outcome is recorded; a later
    // approval reconciles this dispatch (verify() finds nothing) and runs it.
    await breakerOpen(deps, approval, tool, key, ctx);
    return;
  }
  await deps.hooks?.beforeCommit?.(key);
  const outcome: OutcomeRecord = call.ok
    ? {
        status: 'committed',
        result: await sealedResult(deps, approval, tool, call.value),
        durationMs,
        approvalEventId: approval.eventId,
      }
    : {
        status: 'failed',
        ...(await sealedFailure(deps, classify(call.error))),
        durationMs,
        approvalEventId: approval.eventId,
      };
  const recorded = await deps.ledger.finish(key, outcome);
  // The breaker's transition first, the outcome last: the planner continues the task's chain from the outcome, so
  // an event chained after it here would claim the seq the planner's next event takes (a forked chain).
  if (call.transition !== undefined) await publishTransition(approval, name, call.transition, ctx);
  await publishOutcome(approval, tool, key, recorded, ctx);
}

async function reconcile(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  args: JsonObject,
  key: string,
  state: EffectState,
  ctx: ExecuteContext,
): Promise<void> {
  const last = state.dispatches.at(-1)!;
  // Until the lease expires the dispatching executor may still be running the call (its timeout cancels it).
  const waitMs = last.leaseUntil.getTime() - deps.now().getTime();
  if (waitMs > 0) await abortableSleep(waitMs, ctx.signal);
  const next = last.attempt + 1;
  if (!tool.spec.destructive) {
    ctx.logger.info({ key, attempt: next }, 'read-only effect without an outcome: running it again');
    await dispatchAndRun(deps, approval, tool, args, key, next, ctx);
    return;
  }
  if (tool.verify === undefined) {
    await outcomeUnknown(deps, approval, tool, key, `${tool.spec.name} cannot verify its effects`, ctx);
    return;
  }
  const timeoutMs = tool.timeoutMs ?? deps.defaultTimeoutMs;
  let verdict;
  try {
    verdict = await tool.verify(args, { idempotencyKey: key, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    verdict = { status: 'unknown' as const, reason: `verify failed: ${(error as Error).message}` };
  }
  ctx.logger.warn({ key, verdict: verdict.status }, 'reconciled an effect dispatched before a crash');
  switch (verdict.status) {
    case 'applied': {
      let outcome: OutcomeRecord;
      try {
        outcome = {
          status: 'committed',
          result: await sealedResult(deps, approval, tool, checkOutput(tool, verdict.output)),
          durationMs: 0,
          approvalEventId: approval.eventId,
        };
      } catch (error) {
        outcome = {
          status: 'failed',
          ...(await sealedFailure(deps, classify(error))),
          durationMs: 0,
          approvalEventId: approval.eventId,
        };
      }
      await publishOutcome(approval, tool, key, await deps.ledger.finish(key, outcome), ctx);
      return;
    }
    case 'not_applied':
      await dispatchAndRun(deps, approval, tool, args, key, next, ctx);
      return;
    case 'unknown':
      await outcomeUnknown(deps, approval, tool, key, verdict.reason, ctx);
      return;
    default: {
      const never: never = verdict;
      throw new Error(`unknown verify outcome ${JSON.stringify(never)}`);
    }
  }
}

/** A failure with its message sealed again where it quotes opened args (sealFailure), or as it is. */
async function sealedFailure<F extends { readonly message: string }>(
  deps: Pick<ExecutorHandlerDeps, 'sealFailure'>,
  failure: F,
): Promise<F> {
  return deps.sealFailure === undefined ? failure : { ...failure, message: await deps.sealFailure(failure.message) };
}

function classify(error: unknown): { errorClass: FailureClass; message: string; retryable: boolean } {
  const message = clip((error as Error)?.message ?? String(error));
  if (error instanceof ToolTimeoutError) return { errorClass: 'timeout', message, retryable: true };
  if (error instanceof InvalidToolOutputError) return { errorClass: 'invalid_output', message, retryable: false };
  if (error instanceof ToolRefusedError) return { errorClass: 'refused', message, retryable: false };
  return { errorClass: 'tool_error', message, retryable: isWardenError(error) ? error.retryable : true };
}

/** The approval's tenant; an approval without one cannot have its result sealed (fail closed: retried, then DLQ). */
function tenantOf(approval: Approval): string {
  if (approval.tenantId === undefined) throw new Error(`approval ${approval.eventId} names no tenant to seal under`);
  return approval.tenantId;
}

/**
 * A result with its personal data sealed (ADR 0026), before the ledger records it: the ledger in MongoDB then holds
 * the ciphertext the log holds, and an erasure covers both.
 */
async function sealedResult(
  deps: Pick<ExecutorHandlerDeps, 'sealResult'>,
  approval: Approval,
  tool: RunnableTool,
  result: JsonValue,
): Promise<JsonValue> {
  return deps.sealResult === undefined ? result : deps.sealResult(tool.spec, tenantOf(approval), result);
}

/**
 * A recorded outcome read back from the ledger, its result sealed again (sealing skips what is sealed): an outcome
 * recorded before results were sealed in the ledger never goes out in clear.
 */
async function sealedRecord(
  deps: Pick<ExecutorHandlerDeps, 'sealResult'>,
  approval: Approval,
  tool: RunnableTool,
  outcome: OutcomeRecord,
): Promise<OutcomeRecord> {
  if (outcome.status !== 'committed' || deps.sealResult === undefined) return outcome;
  return { ...outcome, result: await sealedResult(deps, approval, tool, outcome.result) };
}

/** Publishes an outcome as recorded: its result is already sealed (sealedResult before the ledger, or sealedRecord). */
async function publishOutcome(
  approval: Approval,
  tool: RunnableTool,
  key: string,
  outcome: OutcomeRecord,
  ctx: ExecuteContext,
): Promise<void> {
  ctx.recorded?.({
    actionId: approval.actionId,
    argsHash: approval.argsHash,
    approvalEventId: outcome.approvalEventId,
  });
  const base = { actionId: approval.actionId, tool: tool.spec.name, effectKey: key, durationMs: outcome.durationMs };
  if (outcome.status === 'committed') {
    await ctx.publish('ToolSucceeded', { ...base, result: outcome.result });
    return;
  }
  await ctx.publish('ToolFailed', {
    ...base,
    errorClass: outcome.errorClass,
    message: clip(outcome.message),
    retryable: outcome.retryable,
  });
}

async function publishTransition(
  approval: Approval,
  tool: string,
  transition: BreakerTransition,
  ctx: ExecuteContext,
): Promise<void> {
  if (transition.kind === 'closed') {
    await ctx.publish('BreakerClosed', { scope: 'tool', name: tool, reason: transition.reason });
    return;
  }
  await ctx.publish('BreakerOpened', {
    scope: 'tool',
    name: tool,
    reason: clipText(transition.reason, MAX_NOTE_CHARS),
    consecutiveFailures: transition.consecutiveFailures,
    errorRate: transition.errorRate,
  });
  await ctx.publish('AlertRaised', {
    alertId: `${approval.taskId}:${approval.actionId}:breaker:${tool}`,
    code: 'breaker_open',
    severity: 'critical',
    message: clip(`breaker of ${tool} opened: ${transition.reason}`),
    subject: { tool, taskId: approval.taskId, actionId: approval.actionId },
  });
}

async function breakerOpen(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  key: string,
  ctx: ExecuteContext,
): Promise<void> {
  const name = tool.spec.name;
  await ctx.publish('ToolFailed', {
    actionId: approval.actionId,
    tool: name,
    effectKey: key,
    errorClass: 'breaker_open',
    message: `the breaker of ${name} is open: the call was not made`,
    retryable: true,
    durationMs: 0,
  });
  await ctx.publish('EscalationRequested', {
    escalationId: `${key}:executor:breaker_open`,
    source: 'executor',
    reasonCode: 'breaker_open',
    reason: `the breaker of ${name} is open; a person may approve the action again once the tool is healthy`,
    action: { actionId: approval.actionId, tool: name, args: approval.args ?? {}, argsHash: approval.argsHash },
    policyVersion: approval.policyVersion,
    expiresAt: new Date(deps.now().getTime() + deps.escalationTtlMs).toISOString(),
  });
}

async function outcomeUnknown(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  key: string,
  why: string,
  ctx: ExecuteContext,
): Promise<void> {
  const message = clip(`effect ${key} of ${tool.spec.name} was dispatched but its outcome is unknown: ${why}`);
  const recorded = await deps.ledger.finish(key, {
    status: 'failed',
    errorClass: 'outcome_unknown',
    message,
    retryable: false,
    durationMs: 0,
    approvalEventId: approval.eventId,
  });
  await publishRecorded(deps, approval, tool, key, recorded, ctx);
}

/**
 * Publishes an effect's recorded outcome with what comes with it: for an outcome_unknown, a critical alert and a
 * person asked to check the tool's store. A redelivered approval gets the same outputs as its first handling, whose
 * transaction may have aborted (a fenced producer at a rebalance) after the outcome was recorded in the ledger.
 */
async function publishRecorded(
  deps: ExecutorHandlerDeps,
  approval: Approval,
  tool: RunnableTool,
  key: string,
  recorded: OutcomeRecord,
  ctx: ExecuteContext,
): Promise<void> {
  await publishOutcome(approval, tool, key, recorded, ctx);
  if (recorded.status !== 'failed' || recorded.errorClass !== 'outcome_unknown') return;
  const message = clip(recorded.message);
  await ctx.publish('AlertRaised', {
    alertId: `${key}:outcome_unknown`,
    code: 'outcome_unknown',
    severity: 'critical',
    message,
    subject: { tool: tool.spec.name, taskId: approval.taskId, actionId: approval.actionId, effectKey: key },
  });
  await ctx.publish('EscalationRequested', {
    escalationId: `${key}:executor:outcome_unknown`,
    source: 'executor',
    reasonCode: 'outcome_unknown',
    reason: clip(`${message}; check the tool's store and tell the task what happened`),
    action: null,
    policyVersion: approval.policyVersion,
    expiresAt: new Date(deps.now().getTime() + deps.escalationTtlMs).toISOString(),
  });
}

/**
 * Refuses an approval that no running task of this executor can own (unsigned, of an unknown or ended task) with a
 * critical alert only: no effect, and no ToolFailed into a task that does not exist or is over.
 */
async function alertRefusal(
  approval: Approval,
  ctx: ExecuteContext,
  code: RefusalCode,
  message: string,
): Promise<void> {
  ctx.logger.warn({ key: effectKeyOf(approval), code, message }, 'approval refused');
  await publishRefusalAlert(approval, ctx, code, message);
}

/** The alert of a refusal: critical, but a warning for bad args or an expired approval. */
async function publishRefusalAlert(
  approval: Approval,
  ctx: ExecuteContext,
  code: RefusalCode,
  message: string,
): Promise<void> {
  const tool = approval.tool ?? 'unknown';
  await ctx.publish('AlertRaised', {
    alertId: `${approval.eventId}:refused`,
    code: 'policy_warn',
    severity: code === RefusalCodes.invalidArgs || code === RefusalCodes.approvalExpired ? 'warning' : 'critical',
    message: clip(`executor refused ${approval.kind} of ${tool} (${code}): ${message}`),
    subject: { taskId: approval.taskId, actionId: approval.actionId, tool, reason: code, approval: approval.eventId },
  });
}

async function refuse(
  _deps: ExecutorHandlerDeps,
  approval: Approval,
  ctx: ExecuteContext,
  code: RefusalCode,
  message: string,
): Promise<void> {
  const tool = approval.tool ?? 'unknown';
  const key = effectKeyOf(approval);
  ctx.logger.warn({ key, code, message }, 'approval refused');
  await ctx.publish('ToolFailed', {
    actionId: approval.actionId,
    tool: isIdentifier(tool) ? tool : 'unknown',
    effectKey: key,
    errorClass: code === RefusalCodes.invalidArgs ? 'invalid_args' : 'refused',
    message: clip(`${code}: ${message}`),
    retryable: false,
    durationMs: 0,
  });
  await publishRefusalAlert(approval, ctx, code, message);
}
