import type { EventOf } from '@warden/contracts';
import { isDuplicateKeyError } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';

/** A task's budget and breaker state, as a person deciding about it sees it. */
export interface TaskView {
  /** The planner's view of the task (absent: the planner has not written one yet, or it is another tenant's). */
  readonly budget?: {
    readonly status: string;
    readonly tokens: { readonly used: number; readonly limit: number; readonly remaining: number };
    readonly costUsd: { readonly used: number; readonly limit: number; readonly remaining: number };
    readonly steps: { readonly used: number; readonly limit: number; readonly remaining: number };
    /** The task's breaker: consecutive failures so far and the limit that opens it. */
    readonly failures: { readonly consecutive: number; readonly limit: number };
  };
  readonly breakers: {
    /** The task's own breaker is open (BreakerOpened of the task, not closed since). */
    readonly task: boolean;
    /** Tools whose breaker is open now (shared by every task): names and since when. */
    readonly openTools: ReadonlyArray<{ readonly tool: string; readonly since: string }>;
  };
}

/** One breaker's latest state, projected from BreakerOpened and BreakerClosed (rare events, never a hot path). */
interface BreakerDoc {
  _id: string;
  scope: 'tool' | 'task';
  name: string;
  /** The tenant of the task whose event reported it (task breakers are shown to that tenant only). */
  tenantId: string;
  open: boolean;
  at: string;
}

/**
 * The planner's view of a task (`planner_task_views`, written behind by the planner: its TaskViewDoc, ADR 0029), the
 * fields read here. Looked up by `_id`, which the `_id` index serves on MongoDB.
 */
interface PlannerTaskViewDoc {
  _id: string;
  tenantId: string;
  status: string;
  tokens: { used: number; limit: number };
  costUsd: { used: number; limit: number };
  steps: { used: number; limit: number };
  failures: { consecutive: number; limit: number };
}

/** How many task views are cached at most. */
const MAX_CACHED_VIEWS = 1_000;

/**
 * Budget and breaker state for the people's page. Budgets are read from the planner's task views (the planner writes
 * them behind its keyed state, in batches: a view may lag the task by the planner's flush interval), by key when a
 * person asks (never per event), and cached for `cacheMs` or until one of the task's escalations changes; breakers
 * are projected from the
 * alerts topic's BreakerOpened and BreakerClosed, which are rare. Nothing here is on a per-event hot path.
 */
export class TaskViews {
  private readonly breakers: Collection<BreakerDoc>;
  private readonly plannerViews: Collection<PlannerTaskViewDoc>;
  private readonly cache = new Map<string, { atMs: number; view: TaskView }>();

  constructor(
    db: Db,
    private readonly cacheMs: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.breakers = db.collection<BreakerDoc>('escalation_breakers');
    this.plannerViews = db.collection<PlannerTaskViewDoc>('planner_task_views');
  }

  /** Records a breaker's change, unless a later one is recorded already (idempotent). */
  async recordBreaker(event: EventOf<'BreakerOpened'> | EventOf<'BreakerClosed'>): Promise<void> {
    const { scope, name } = event.data;
    const doc: BreakerDoc = {
      _id: `${scope}:${name}`,
      scope,
      name,
      tenantId: event.tenantId,
      open: event.type === 'BreakerOpened',
      at: event.occurredAt,
    };
    const { _id, ...fields } = doc;
    try {
      await this.breakers.updateOne({ _id, at: { $lt: doc.at } }, { $set: fields }, { upsert: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // a later change is recorded: this one is stale
    }
    this.cache.clear();
  }

  /** Forgets what is cached of a task (its escalations changed: it halted, was decided, moved on). */
  forget(taskId: string): void {
    for (const key of this.cache.keys()) if (key.endsWith(`|${taskId}`)) this.cache.delete(key);
  }

  /** The task's budget and breaker state, for a person of `tenantId`. */
  async of(taskId: string, tenantId: string): Promise<TaskView> {
    const nowMs = this.now().getTime();
    const cached = this.cache.get(`${tenantId}|${taskId}`);
    if (cached !== undefined && nowMs - cached.atMs < this.cacheMs) return cached.view;
    const [planner, open] = await Promise.all([
      this.plannerViews.findOne({ _id: taskId }),
      this.breakers.find({ open: true }).toArray(),
    ]);
    const view: TaskView = {
      ...(planner === null || planner.tenantId !== tenantId
        ? {}
        : {
            budget: {
              status: planner.status,
              tokens: figures(planner.tokens),
              costUsd: figures(planner.costUsd),
              steps: figures(planner.steps),
              failures: { consecutive: planner.failures.consecutive, limit: planner.failures.limit },
            },
          }),
      breakers: {
        task: open.some((b) => b.scope === 'task' && b.name === taskId && b.tenantId === tenantId),
        openTools: open.filter((b) => b.scope === 'tool').map((b) => ({ tool: b.name, since: b.at })),
      },
    };
    // A view without the planner's figures is not kept: the planner writes them behind its state (ADR 0029), so
    // they may come a moment after the escalation; the next request reads again.
    if (view.budget === undefined) return view;
    if (this.cache.size >= MAX_CACHED_VIEWS) this.cache.clear();
    this.cache.set(`${tenantId}|${taskId}`, { atMs: nowMs, view });
    return view;
  }
}

function figures({ used, limit }: { used: number; limit: number }): { used: number; limit: number; remaining: number } {
  return { used, limit, remaining: Math.max(0, limit - used) };
}
