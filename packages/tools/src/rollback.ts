/**
 * Planning a rollback (ADR 0026): from a task's events in the audit log, the compensations of its succeeded
 * effects, newest first, as the steps of a new task's given plan. Pure: the CLI and the escalation service read the
 * log and submit the plan; the planner, the guard and the executor run it like any task.
 */
import {
  SEALED_FIELD,
  canonicalHash,
  clipText,
  holdsErased,
  openSealed,
  MAX_ID_CHARS,
  MAX_REASONING_CHARS,
  type EventData,
  type EventDataInput,
  type GivenStep,
  type JsonObject,
  type JsonValue,
  type SubjectKeyStore,
  type WardenEvent,
} from '@warden/contracts';
import type { z } from 'zod';
import type { Db } from 'mongodb';
import { OpenedValues, sealRepeated } from './personal-data.js';
import { keptCopyErased } from './stores/customers.js';
import type { ToolDefinitionRegistry } from './runnable.js';
import type { CompensatingCall, RecordedEffect } from './spec.js';

/** An event as the rollback planner reads it. */
export type LoggedEvent = Pick<WardenEvent, 'taskId' | 'tenantId' | 'seq' | 'type' | 'data'>;

/** A succeeded effect of the task. */
export interface EffectRef {
  readonly actionId: string;
  readonly step: number;
  readonly tool: string;
  readonly effectKey: string;
}

/** One compensation the rollback task will propose. */
export interface PlannedCompensation extends CompensatingCall {
  /** Its action id in the rollback task. */
  readonly actionId: string;
  readonly compensates: EffectRef;
}

/** What a rollback would do, and what it cannot. */
export interface RollbackPlan {
  readonly taskId: string;
  readonly tenantId: string;
  readonly fromStep: number;
  /** The id the rollback task gets: the same plan submitted twice is one task (its effects run once). */
  readonly rollbackTaskId: string;
  /** The compensations, newest effect first. */
  readonly steps: readonly PlannedCompensation[];
  /** Effects nothing can undo (money moved, a message sent, an undeclared tool), with why. */
  readonly irreversible: readonly (EffectRef & { readonly reason: string })[];
  /** Effects that changed nothing (nothing to undo). */
  readonly unchanged: readonly EffectRef[];
  /** Effects an earlier rollback task undid already, with that task. */
  readonly compensated: readonly (EffectRef & { readonly by: string })[];
  /** Effects a rollback task still running is undoing: not planned again. */
  readonly inProgress: readonly (EffectRef & { readonly by: string })[];
  /** The original task's TaskSubmitted (its scope, limits and budgets bound the rollback). */
  readonly original: EventData<'TaskSubmitted'>;
}

/** The task is not in the log, or its log cannot be planned from. */
export class RollbackPlanningError extends Error {
  override readonly name = 'RollbackPlanningError';
}

function dataOf<T extends WardenEvent['type']>(e: LoggedEvent, type: T): EventData<T> | undefined {
  return e.type === type ? (e.data as EventData<T>) : undefined;
}

/** The compensation of a recorded effect by its tool's declaration, with the args parsed by the tool's schema. */
export function compensationOf(
  tools: ToolDefinitionRegistry<unknown, unknown>,
  tool: string,
  effect: RecordedEffect,
): { kind: 'call'; call: CompensatingCall } | { kind: 'none' } | { kind: 'irreversible'; reason: string } {
  const definition = tools.get(tool);
  if (definition === undefined) return { kind: 'irreversible', reason: `unknown tool ${tool}: cannot tell` };
  if (!definition.destructive) return { kind: 'none' };
  const declared = definition.compensation;
  if (declared === undefined) return { kind: 'irreversible', reason: `${tool} declares no compensation` };
  if (declared.kind === 'irreversible') return { kind: 'irreversible', reason: declared.reason };
  const parsed = definition.argsSchema.safeParse(effect.args);
  if (!parsed.success) return { kind: 'irreversible', reason: `the recorded args of ${tool} do not parse` };
  try {
    const call = declared.compensate({ ...effect, args: parsed.data });
    return call === null ? { kind: 'none' } : { kind: 'call', call };
  } catch (error) {
    return { kind: 'irreversible', reason: `cannot plan its compensation: ${(error as Error).message}` };
  }
}

/** The id of a rollback task: the original's id and a digest of the effects it undoes. */
export function rollbackTaskIdOf(taskId: string, effects: readonly EffectRef[]): string {
  const digest = canonicalHash(['rollback', taskId, effects.map((e) => e.effectKey)]).slice(0, 16);
  const suffix = `.rollback-${digest}`;
  return `${taskId.slice(0, MAX_ID_CHARS - suffix.length)}${suffix}`;
}

/**
 * Plans the rollback of `taskId` from `fromStep` (0: all) out of the log's events: the original task's and those of
 * earlier rollback tasks (TaskSubmitted with `plan.rollbackOf` naming it). An effect is the ToolSucceeded of an
 * action, run with the args its approval bound (ActionApproved or HumanApproved). Throws RollbackPlanningError when
 * the task is not in the events.
 */
export function planRollback(
  tools: ToolDefinitionRegistry<unknown, unknown>,
  events: readonly LoggedEvent[],
  taskId: string,
  fromStep = 0,
  unplannable: ReadonlyMap<string, string> = new Map(),
): RollbackPlan {
  const mine = events.filter((e) => e.taskId === taskId).sort((a, b) => a.seq - b.seq);
  const submitted = mine.map((e) => dataOf(e, 'TaskSubmitted')).find((d) => d !== undefined);
  if (submitted === undefined) throw new RollbackPlanningError(`task ${taskId} is not in the log`);
  const tenantId = mine[0]!.tenantId;

  const steps = new Map<string, number>();
  const approvedArgs = new Map<string, JsonObject>();
  const effects: (EffectRef & { args: JsonObject | undefined; result: unknown })[] = [];
  for (const e of mine) {
    const proposed = dataOf(e, 'ActionProposed');
    if (proposed !== undefined) steps.set(proposed.actionId, proposed.step);
    const approved = dataOf(e, 'ActionApproved');
    if (approved?.args != null) approvedArgs.set(approved.actionId, approved.args);
    const human = dataOf(e, 'HumanApproved');
    if (human !== undefined && human.tool !== null) approvedArgs.set(human.actionId, human.args);
    const succeeded = dataOf(e, 'ToolSucceeded');
    if (succeeded !== undefined && !effects.some((x) => x.actionId === succeeded.actionId)) {
      effects.push({
        actionId: succeeded.actionId,
        step: steps.get(succeeded.actionId) ?? 0,
        tool: succeeded.tool,
        effectKey: succeeded.effectKey,
        args: approvedArgs.get(succeeded.actionId),
        result: succeeded.result,
      });
    }
  }

  // Earlier rollbacks of this task: what they undid (a ToolSucceeded of the step) and what they are still undoing.
  const done = new Map<string, string>();
  const running = new Map<string, string>();
  const byTask = new Map<string, LoggedEvent[]>();
  for (const e of events) if (e.taskId !== taskId) byTask.set(e.taskId, [...(byTask.get(e.taskId) ?? []), e]);
  for (const [other, list] of byTask) {
    const plan = list.map((e) => dataOf(e, 'TaskSubmitted')).find((d) => d !== undefined)?.plan;
    if (plan?.rollbackOf?.taskId !== taskId) continue;
    const ended = list.some((e) => e.type === 'TaskCompleted' || e.type === 'TaskFailed' || e.type === 'TaskHalted');
    const succeeded = new Set(list.flatMap((e) => dataOf(e, 'ToolSucceeded')?.actionId ?? []));
    for (const step of plan.steps) {
      if (step.compensates === undefined) continue;
      if (succeeded.has(step.actionId)) done.set(step.compensates.actionId, other);
      else if (!ended) running.set(step.compensates.actionId, other);
    }
  }

  const planned: Omit<PlannedCompensation, 'actionId'>[] = [];
  const irreversible: (EffectRef & { reason: string })[] = [];
  const unchanged: EffectRef[] = [];
  const compensated: (EffectRef & { by: string })[] = [];
  const inProgress: (EffectRef & { by: string })[] = [];
  for (const effect of [...effects].reverse()) {
    if (effect.step < fromStep) continue;
    const ref: EffectRef = {
      actionId: effect.actionId,
      step: effect.step,
      tool: effect.tool,
      effectKey: effect.effectKey,
    };
    const by = done.get(effect.actionId);
    if (by !== undefined) {
      compensated.push({ ...ref, by });
      continue;
    }
    const runningBy = running.get(effect.actionId);
    if (runningBy !== undefined) {
      inProgress.push({ ...ref, by: runningBy });
      continue;
    }
    const cannot = unplannable.get(effect.actionId);
    if (cannot !== undefined && tools.get(effect.tool)?.destructive !== false) {
      irreversible.push({ ...ref, reason: cannot });
      continue;
    }
    if (effect.args === undefined) {
      if (tools.get(effect.tool)?.destructive === false) continue;
      irreversible.push({ ...ref, reason: 'no approval in the log binds the args it ran with' });
      continue;
    }
    const c = compensationOf(tools, effect.tool, {
      args: effect.args,
      result: effect.result as RecordedEffect['result'],
      effectKey: effect.effectKey,
    });
    if (c.kind === 'irreversible') irreversible.push({ ...ref, reason: c.reason });
    else if (c.kind === 'call') planned.push({ ...c.call, compensates: ref });
    else if (tools.get(effect.tool)?.destructive === true) unchanged.push(ref);
  }
  const withIds = planned.map((p, i) => ({ ...p, actionId: `undo-${i + 1}-${p.compensates.actionId}`.slice(0, 180) }));
  return {
    taskId,
    tenantId,
    fromStep,
    rollbackTaskId: rollbackTaskIdOf(
      taskId,
      withIds.map((s) => s.compensates),
    ),
    steps: withIds,
    irreversible,
    unchanged,
    compensated,
    inProgress,
    original: submitted,
  };
}

/** Why an effect holding an erased subject's personal data is not planned (ADR 0026). */
export const ERASED_EFFECT_REASON =
  'its recorded args or result hold personal data whose subject was erased: what it changed can no longer be read, so it is not undone';

/** Why an effect whose kept copy holds an erased subject's personal data is not planned (ADR 0026). */
export const ERASED_COPY_REASON =
  'the copy it kept for undo holds personal data whose subject was erased: it can no longer be put back';

/** Whether the copy an effect kept for undo holds an erased subject's data (keptCopyErased over the stores). */
export type KeptCopyErased = (tool: string, args: JsonObject, effectKey: string) => Promise<boolean>;

/** KeptCopyErased over the demo tools' stores in a database. */
export const keptErasedIn =
  (db: Db, keys: SubjectKeyStore): KeptCopyErased =>
  (tool, args, effectKey) =>
    keptCopyErased(db, keys, tool, args, effectKey);

/**
 * planRollback over a log whose personal data is sealed (ADR 0026): the task's approved args and results are opened
 * in memory (a compensation is planned from what the effect really did: files.write's content hash, the ids), an
 * effect holding an erased value is listed as irreversible with the reason (never planned from `[erased]`), and the
 * compensations' args are sealed again wherever they repeat an opened value, under its subject: the plan the
 * rollback task publishes holds no clear personal data.
 */
export async function planSealedRollback(
  tools: ToolDefinitionRegistry<unknown, unknown>,
  events: readonly LoggedEvent[],
  taskId: string,
  fromStep: number,
  keys: SubjectKeyStore,
  keptErased?: KeptCopyErased,
): Promise<RollbackPlan> {
  const opened = new OpenedValues();
  const erased = new Map<string, string>();
  const clear: LoggedEvent[] = [];
  for (const e of events) {
    const sealedPart =
      e.taskId !== taskId
        ? undefined
        : e.type === 'ActionApproved' || e.type === 'HumanApproved'
          ? 'args'
          : e.type === 'ToolSucceeded'
            ? 'result'
            : undefined;
    const data = e.data as unknown as Record<string, JsonValue>;
    const value = sealedPart === undefined ? undefined : data[sealedPart];
    if (sealedPart === undefined || value === undefined || !JSON.stringify(value).includes(SEALED_FIELD)) {
      clear.push(e);
      continue;
    }
    if (await holdsErased(keys, value)) erased.set(data.actionId as string, ERASED_EFFECT_REASON);
    clear.push({ ...e, data: { ...data, [sealedPart]: await openSealed(keys, value, opened.record) } } as LoggedEvent);
  }
  if (keptErased !== undefined) {
    // the copies kept for undo (customer versions, archived records): an erased one cannot be put back
    const approved = new Map<string, JsonObject>();
    for (const e of clear) {
      if (e.taskId !== taskId) continue;
      const d = e.data as unknown as { actionId: string; args?: JsonObject | null; tool?: string | null };
      if ((e.type === 'ActionApproved' || e.type === 'HumanApproved') && d.args != null)
        approved.set(d.actionId, d.args);
      if (e.type !== 'ToolSucceeded' || erased.has(d.actionId)) continue;
      const args = approved.get(d.actionId);
      const effectKey = (e.data as { effectKey: string }).effectKey;
      if (args !== undefined && (await keptErased(d.tool ?? '', args, effectKey))) {
        erased.set(d.actionId, ERASED_COPY_REASON);
      }
    }
  }
  const plan = planRollback(tools, clear, taskId, fromStep, erased);
  if (opened.size === 0) return plan;
  const how = { keys, tenantId: plan.tenantId, opened, patterns: [] };
  const steps = await Promise.all(
    plan.steps.map(async (s) => ({ ...s, args: (await sealRepeated(s.args, how)) as JsonObject })),
  );
  return { ...plan, steps };
}

/** The given plan of a rollback task: its steps, with the effect each undoes. */
export function givenStepsOf(plan: RollbackPlan): z.input<typeof GivenStep>[] {
  return plan.steps.map((s) => ({
    actionId: s.actionId,
    tool: s.tool,
    args: s.args,
    reasoning: clipText(
      `rollback of task ${plan.taskId}: undoes ${s.compensates.tool} (step ${s.compensates.step}, effect ${s.compensates.effectKey})`,
      MAX_REASONING_CHARS,
    ),
    compensates: { taskId: plan.taskId, ...s.compensates },
  }));
}

/** How a rollback task is submitted. */
export interface RollbackTaskOptions {
  /** Who asks for the rollback. */
  readonly requester: EventData<'TaskSubmitted'>['requester'];
  /** Every compensation waits for a person's approval (the task's confidence floor is 1). */
  readonly requireApproval?: boolean;
}

/**
 * The TaskSubmitted of a rollback task: the plan's steps as its given plan, its scope the compensating tools over
 * the original task's resources, under the original's magnitude limits and risk settings (a rollback may touch no
 * more than the task it undoes could), with steps enough for the plan and its closing answer.
 */
export function rollbackTask(plan: RollbackPlan, options: RollbackTaskOptions): EventDataInput<'TaskSubmitted'> {
  if (plan.steps.length === 0) throw new RollbackPlanningError(`nothing to roll back in task ${plan.taskId}`);
  const o = plan.original;
  return {
    goal: `Roll back task ${plan.taskId} (its effects from step ${plan.fromStep} on): ${plan.steps.length} compensation(s)`,
    input: {
      rollbackOf: plan.taskId,
      fromStep: plan.fromStep,
      irreversible: plan.irreversible.map((e) => ({ actionId: e.actionId, tool: e.tool, reason: e.reason })),
    },
    requester: options.requester,
    scope: { tools: [...new Set(plan.steps.map((s) => s.tool))], resources: o.scope.resources },
    limits: o.limits,
    budgets: { ...o.budgets, maxSteps: Math.max(o.budgets.maxSteps, plan.steps.length + 1) },
    risk: options.requireApproval === true ? { ...o.risk, minConfidence: 1 } : o.risk,
    ...(o.model === undefined ? {} : { model: o.model }),
    plan: { steps: givenStepsOf(plan), rollbackOf: { taskId: plan.taskId, fromStep: plan.fromStep } },
  };
}
