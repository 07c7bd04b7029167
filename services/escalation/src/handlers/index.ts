import type { Handlers } from '@warden/runtime';
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

/** The service's handlers: each an idempotent upsert into its projection. */
export function createHandlers(store: EscalationStore): Handlers<Consumed> {
  return {
    EscalationRequested: escalationRequested(store),
    HumanApproved: humanApproved(store),
    HumanDenied: humanDenied(store),
    EscalationExpired: escalationExpired(store),
    AlertRaised: alertRaised(store),
    TaskCompleted: taskEnded(store),
    TaskFailed: taskEnded(store),
    TaskHalted: taskEnded(store),
  };
}
