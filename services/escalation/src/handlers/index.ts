import type { EscalationMetrics, Handlers } from '@warden/runtime';
import type { EscalationStore } from '../store.js';
import { alertRaised } from './alert-raised.js';
import { escalationExpired } from './escalation-expired.js';
import { escalationRequested } from './escalation-requested.js';
import { humanApproved, humanDenied } from './human-decided.js';
import { taskEnded } from './task-ended.js';

/** The event types the escalation service consumes: escalations, its own outcomes (to rebuild), alerts and ends. */
export const escalationConsumes = [
  'EscalationRequested',
  'HumanApproved',
  'HumanDenied',
  'EscalationExpired',
  'AlertRaised',
  'TaskCompleted',
  'TaskFailed',
  'TaskHalted',
] as const;
type Consumed = (typeof escalationConsumes)[number];

/** Where new escalations and alerts are announced (webhooks). */
export interface Notifier {
  notify(kind: 'escalation' | 'alert', eventId: string, payload: unknown): Promise<void>;
}

/** The service's handlers: each an idempotent upsert into its projection; new escalations and alerts announced. */
export function createHandlers(
  store: EscalationStore,
  notifier?: Notifier,
  metrics?: Pick<EscalationMetrics, 'opened'>,
): Handlers<Consumed> {
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
    HumanApproved: humanApproved(store),
    HumanDenied: humanDenied(store),
    EscalationExpired: escalationExpired(store),
    AlertRaised: async (event) => {
      await alertRaised(store)(event);
      await notifier?.notify('alert', event.id, { taskId: event.taskId, tenantId: event.tenantId, alert: event.data });
    },
    TaskCompleted: taskEnded(store),
    TaskFailed: taskEnded(store),
    TaskHalted: taskEnded(store),
  };
}
