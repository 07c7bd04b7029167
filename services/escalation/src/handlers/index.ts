import type { VerifyingKey } from '@warden/contracts';
import type { EscalationMetrics, Handlers } from '@warden/runtime';
import type { EscalationStore } from '../store.js';
import type { TaskViews } from '../task-view.js';
import { alertRaised } from './alert-raised.js';
import { breakerChanged } from './breaker-changed.js';
import { escalationExpired } from './escalation-expired.js';
import { escalationRequested } from './escalation-requested.js';
import { haltDecided } from './halt-decided.js';
import { humanApproved, humanDenied } from './human-decided.js';
import type { TaskEscalations } from '../task-escalations.js';
import { taskEnded } from './task-ended.js';

/**
 * The event types the escalation service consumes: escalations, its own outcomes (to rebuild), alerts, breakers
 * and task ends.
 */
export const escalationConsumes = [
  'EscalationRequested',
  'HumanApproved',
  'HumanDenied',
  'EscalationExpired',
  'TaskResumed',
  'TaskCancelled',
  'AlertRaised',
  'BreakerOpened',
  'BreakerClosed',
  'TaskCompleted',
  'TaskFailed',
  'TaskHalted',
] as const;
type Consumed = (typeof escalationConsumes)[number];

/** Where new escalations and alerts are announced (webhooks). */
export interface Notifier {
  notify(kind: 'escalation' | 'alert', eventId: string, payload: unknown): Promise<void>;
}

/**
 * The service's handlers: each an idempotent upsert into its projection; new escalations and alerts announced. Its
 * own decisions read back count only if signed by one of `ownKeys` (its key, and keys it signed with before).
 */
export function createHandlers(
  store: EscalationStore,
  views: TaskViews,
  ownKeys: ReadonlyMap<string, VerifyingKey>,
  notifier?: Notifier,
  metrics?: Pick<EscalationMetrics, 'opened'>,
): Handlers<Consumed, TaskEscalations> {
  return {
    EscalationRequested: async (event, ctx) => {
      await escalationRequested(store)(event, ctx);
      metrics?.opened(event.data.source);
      await notifier?.notify('escalation', event.id, {
        taskId: event.taskId,
        tenantId: event.tenantId,
        escalation: event.data,
      });
    },
    HumanApproved: humanApproved(store, ownKeys),
    HumanDenied: humanDenied(store, ownKeys),
    EscalationExpired: escalationExpired(store),
    TaskResumed: haltDecided(store, ownKeys),
    TaskCancelled: haltDecided(store, ownKeys),
    BreakerOpened: breakerChanged(views),
    BreakerClosed: breakerChanged(views),
    AlertRaised: async (event) => {
      await alertRaised(store)(event);
      await notifier?.notify('alert', event.id, { taskId: event.taskId, tenantId: event.tenantId, alert: event.data });
    },
    TaskCompleted: taskEnded(store),
    TaskFailed: taskEnded(store),
    TaskHalted: taskEnded(store),
  };
}
