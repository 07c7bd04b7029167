import type { EventOf } from '@warden/contracts';
import { isDuplicateKeyError } from '@warden/contracts';
import type { Collection, Db } from 'mongodb';

/** A task's budget and breaker state, as a person deciding about it sees it. */
export interface TaskView {
  /** The planner's view of the task (absent: the planner has not saved one, or it is another tenant's). */
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

/** The fields of the planner's per-task document the view reads (planner_tasks, see the planner's TaskStore). */
interface PlannerTaskDoc {
  _id: string;
  state: {
    tenantId: string;
    status: string;
    steps: number;
    consecutiveFailures: number;
    totals: { usage: { totalTokens: number }; costUsd: number };
    limits: { maxTokens: number; maxCostUsd: number; maxSteps: number; maxConsecutiveFailures: number };
  };
}

/** How many task views are cached at most. */
const MAX_CACHED_VIEWS = 1_000;

/**
 * Budget and breaker state for the people's page. Budgets are read from where they live, the planner's per-task
 * state, by key when a person asks (never per event), and cached for `cacheMs` or until one of the task's
 * escalations changes; breakers are projected from the
 * alerts topic's BreakerOpened and BreakerClosed, which are rare. Nothing here is on a per-event hot path.
 */
export class TaskViews {
  private readonly breakers: Collection<BreakerDoc>;
  private readonly plannerTasks: Collection<PlannerTaskDoc>;
  private readonly cache = new Map<string, { atMs: number; view: TaskView }>();

  constructor(
    db: Db,
    private readonly cacheMs: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.breakers = db.collection<BreakerDoc>('escalation_breakers');
    this.plannerTasks = db.collection<PlannerTaskDoc>('planner_tasks');
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
      this.plannerTasks.findOne(
        { _id: taskId },
        {
          projection: {
            'state.tenantId': 1,
            'state.status': 1,
            'state.steps': 1,
            'state.consecutiveFailures': 1,
            'state.totals': 1,
            'state.limits': 1,
          },
        },
      ),
      this.breakers.find({ open: true }).toArray(),
    ]);
    const s = planner?.state;
    const view: TaskView = {
      ...(s === undefined || s.tenantId !== tenantId
        ? {}
        : {
            budget: {
              status: s.status,
              tokens: figures(s.totals.usage.totalTokens, s.limits.maxTokens),
              costUsd: figures(s.totals.costUsd, s.limits.maxCostUsd),
              steps: figures(s.steps, s.limits.maxSteps),
              failures: { consecutive: s.consecutiveFailures, limit: s.limits.maxConsecutiveFailures },
            },
          }),
      breakers: {
        task: open.some((b) => b.scope === 'task' && b.name === taskId && b.tenantId === tenantId),
        openTools: open.filter((b) => b.scope === 'tool').map((b) => ({ tool: b.name, since: b.at })),
      },
    };
    if (this.cache.size >= MAX_CACHED_VIEWS) this.cache.clear();
    this.cache.set(`${tenantId}|${taskId}`, { atMs: nowMs, view });
    return view;
  }
}

function figures(used: number, limit: number): { used: number; limit: number; remaining: number } {
  return { used, limit, remaining: Math.max(0, limit - used) };
}
