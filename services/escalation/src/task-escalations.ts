import { MAX_ID_CHARS } from '@warden/contracts';
import { z } from 'zod';

/**
 * The escalation service's keyed state (ADR 0027) for a task: the ids of the escalations it was asked about. A task
 * end cancels those still pending by `_id`; a task never escalated (most of them) ends without a MongoDB query.
 * Before, each task end ran `find({taskId, status: 'pending'})`, which scans the escalations on FerretDB and so grew
 * with every escalation ever recorded (ADR 0033).
 */
export const TaskEscalations = z.object({
  escalations: z.array(z.string().min(1).max(MAX_ID_CHARS)),
});
export type TaskEscalations = z.infer<typeof TaskEscalations>;

/** The state after an escalation of the task was requested (an id seen before is kept once). */
export const withEscalation = (state: TaskEscalations | undefined, escalationId: string): TaskEscalations => ({
  escalations:
    state?.escalations.includes(escalationId) === true
      ? state.escalations
      : [...(state?.escalations ?? []), escalationId],
});
