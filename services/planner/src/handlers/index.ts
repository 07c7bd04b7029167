import type { Handlers, WakeContext } from '@warden/runtime';
import { expire, type PlannerRecord } from '../task-state.js';
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

/** The planner's handlers, one per consumed event type, over its keyed state (ADR 0029). */
export function createHandlers(deps: HandlerDeps, settings: SubmitSettings): Handlers<Consumed, PlannerRecord> {
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

/** The planner's wake-up: the record of a task ended longer ago than its retention is deleted (a tombstone). */
export function plannerWake(now: () => Date) {
  return (_taskId: string, ctx: WakeContext<PlannerRecord>): Promise<void> => {
    expire(ctx.state, now().getTime());
    return Promise.resolve();
  };
}
