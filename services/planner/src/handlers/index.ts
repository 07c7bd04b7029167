import type { Handlers } from '@warden/runtime';
import { actionApproved } from './action-approved.js';
import { actionRejected } from './action-rejected.js';
import { breakerClosed } from './breaker-closed.js';
import { breakerOpened } from './breaker-opened.js';
import { humanApproved } from './human-approved.js';
import { humanDenied } from './human-denied.js';
import type { HandlerDeps } from './outcome.js';
import { escalationExpired } from './escalation-expired.js';
import { escalationRequested } from './escalation-requested.js';
import { haltDecided } from './halt-decided.js';
import { taskSubmitted, type SubmitSettings } from './task-submitted.js';
import { toolFailed } from './tool-failed.js';
import { toolSucceeded } from './tool-succeeded.js';

/** The event types the planner consumes. */
export const plannerConsumes = [
  'TaskSubmitted',
  'ToolSucceeded',
  'ToolFailed',
  'ActionRejected',
  'ActionApproved',
  'HumanApproved',
  'HumanDenied',
  'BreakerOpened',
  'BreakerClosed',
  'EscalationRequested',
  'EscalationExpired',
  'TaskResumed',
  'TaskCancelled',
] as const;
type Consumed = (typeof plannerConsumes)[number];

/** The planner's handlers, one per consumed event type. */
export function createHandlers(deps: HandlerDeps, settings: SubmitSettings): Handlers<Consumed> {
  return {
    TaskSubmitted: taskSubmitted(deps, settings),
    ToolSucceeded: toolSucceeded(deps),
    ToolFailed: toolFailed(deps),
    ActionRejected: actionRejected(deps),
    ActionApproved: actionApproved(deps),
    HumanApproved: humanApproved(deps),
    HumanDenied: humanDenied(deps),
    BreakerOpened: breakerOpened(deps),
    BreakerClosed: breakerClosed(deps),
    EscalationRequested: escalationRequested(deps),
    EscalationExpired: escalationExpired(deps),
    TaskResumed: haltDecided(deps),
    TaskCancelled: haltDecided(deps),
  };
}
