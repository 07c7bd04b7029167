/**
 * The guard's view of one task, as a pure fold of the task's events (decide/evolve in the emmett style): evolve
 * takes the view so far and one event and returns the next view. The guard service folds the events it recorded,
 * the auditor's backtest folds the events of the log, and both hand decide() the state guardStateOf builds from the
 * view, so the two can never compute a task's state differently.
 */
import { canonicalJson, deepFreeze, type EventData, type Impact } from '@warden/contracts';
import { factsFromResult } from './facts.js';
import type { GuardState, RetrievalFact, TaskData, ToolResultRecord } from './types.js';

/** The impact of an action the guard approved. */
export interface ApprovedAction {
  /** The approved action. */
  readonly actionId: string;
  /** The impact estimate the approval was made on. */
  readonly impact: Impact;
}

/**
 * The events the view is built from, with only the fields it reads (a WardenEvent of these types fits). A
 * ToolSucceeded must be one whose result passed validateToolOutput under the policy in force: an invalid result
 * never becomes evidence.
 */
export type TaskViewEvent =
  | { readonly type: 'TaskSubmitted'; readonly tenantId: string; readonly data: TaskData }
  | { readonly type: 'ToolSucceeded'; readonly data: Pick<EventData<'ToolSucceeded'>, 'actionId' | 'tool' | 'result'> }
  | {
      readonly type: 'ActionApproved';
      readonly data: { readonly actionId: string; readonly impact?: Impact | undefined };
    };

/** What the guard knows of one task. */
export interface TaskView {
  /** The task. */
  readonly taskId: string;
  /** The task's tenant, from its TaskSubmitted envelope ("" until then). */
  readonly tenantId: string;
  /** The TaskSubmitted data (scope, limits, risk), undefined until it is seen. */
  readonly task: TaskData | undefined;
  /** The task's validated tool results, each once, in the order seen. */
  readonly toolResults: readonly ToolResultRecord[];
  /** Facts confirmed by retrieval results, each once, in the order seen. */
  readonly facts: readonly RetrievalFact[];
  /** The actions the guard approved with an impact, each once, in the order approved. */
  readonly approved: readonly ApprovedAction[];
}

/** The view of a task before any of its events. */
export function initialTaskView(taskId: string): TaskView {
  return { taskId, tenantId: '', task: undefined, toolResults: [], facts: [], approved: [] };
}

/** Whether `list` holds a record equal to `item` (same key first, then the same canonical JSON). */
function holds<T>(list: readonly T[], item: T, key: (x: T) => string): boolean {
  const k = key(item);
  let json: string | undefined;
  for (const x of list) {
    if (key(x) !== k) continue;
    json ??= canonicalJson(item);
    if (canonicalJson(x) === json) return true;
  }
  return false;
}

/**
 * The view after one more event. A record seen before (a redelivered event) changes nothing, as the guard's store
 * never held a record twice; a later TaskSubmitted replaces the task. Pure: the view given is not changed.
 */
export function evolve(view: TaskView, event: TaskViewEvent): TaskView {
  switch (event.type) {
    case 'TaskSubmitted':
      return { ...view, tenantId: event.tenantId, task: event.data };
    case 'ToolSucceeded': {
      const { actionId, tool, result } = event.data;
      const record: ToolResultRecord = { actionId, tool, result };
      if (holds(view.toolResults, record, (r) => r.actionId)) return view;
      const facts = [...view.facts];
      for (const fact of factsFromResult(tool, result)) if (!holds(facts, fact, (f) => f.sourceId)) facts.push(fact);
      return { ...view, toolResults: [...view.toolResults, record], facts };
    }
    case 'ActionApproved': {
      const { actionId, impact } = event.data;
      if (impact === undefined) return view;
      const approval: ApprovedAction = { actionId, impact };
      if (holds(view.approved, approval, (a) => a.actionId)) return view;
      return { ...view, approved: [...view.approved, approval] };
    }
    default: {
      const never: never = event;
      throw new Error(`unknown task view event ${(never as { type: string }).type}`);
    }
  }
}

/**
 * The impact approved so far, summed in approval order with plain addition (money included: the sum is not
 * rounded; the magnitude check compares money in whole micro-dollars). `except` leaves one action's own approval
 * out, so a proposal judged again (a redelivery after the guard recorded its approval) is judged on what was
 * approved before it, as it was the first time.
 */
export function approvedImpact(view: TaskView, except?: string): Impact {
  let rows = 0;
  let files = 0;
  let recipients = 0;
  let moneyUsd = 0;
  for (const { actionId, impact } of view.approved) {
    if (actionId === except) continue;
    rows += impact.rows;
    files += impact.files;
    recipients += impact.recipients;
    moneyUsd += impact.moneyUsd;
  }
  return { rows, files, recipients, moneyUsd };
}

/**
 * The state decide() judges one proposal on, deeply frozen (so decide() serialises unchanged parts once); undefined
 * while the task's TaskSubmitted is unknown. `impact` is the proposal's own impact estimate, or null.
 */
export function guardStateOf(view: TaskView, actionId: string, impact: Impact | null): GuardState | undefined {
  if (view.task === undefined) return undefined;
  return deepFreeze({
    taskId: view.taskId,
    tenantId: view.tenantId,
    task: view.task,
    approvedImpact: approvedImpact(view, actionId),
    toolResults: view.toolResults,
    facts: view.facts,
    impact,
  });
}

/**
 * The args of a task's given plan (a rollback, ADR 0026): the requester's own words, like the task input, so a
 * given step's literals are grounded by the plan that states them.
 */
export function givenArgs(task: TaskData): unknown[] {
  return task.plan?.steps.map((s) => s.args) ?? [];
}
