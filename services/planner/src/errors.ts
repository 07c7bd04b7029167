import { WardenError, type WardenErrorOptions } from '@warden/contracts';

/** Stable codes of the planner's errors. */
export const PlannerErrorCodes = {
  modelCall: 'WARDEN_PLANNER_MODEL_CALL',
  budgetStore: 'WARDEN_PLANNER_BUDGET_STORE',
} as const;

/** The failure classes of a model call (ModelFailed.errorClass for transport failures). */
export const ModelCallFailureClasses = ['rate_limited', 'server_error', 'timeout', 'breaker_open', 'other'] as const;
/** A failure class of a model call. */
export type ModelCallFailureClass = (typeof ModelCallFailureClasses)[number];

/**
 * A model call failed after its retries (429, 5xx, timeout, connection), was refused by the open model breaker, or
 * was refused by the endpoint (4xx). It is recorded as ModelFailed and counts toward the task's breaker; it never
 * fails the handler, hence not retryable at the runtime's level.
 */
export class ModelCallError extends WardenError {
  readonly code = PlannerErrorCodes.modelCall;
  readonly retryable = false;
  readonly errorClass: ModelCallFailureClass;
  readonly attempts: number;
  constructor(message: string, options: WardenErrorOptions & { errorClass: ModelCallFailureClass; attempts: number }) {
    super(message, options);
    this.errorClass = options.errorClass;
    this.attempts = options.attempts;
  }
}

/** The tenants' budget owner (the tenant budget log) did not answer a take or a give. Retryable: the runtime retries the event. */
export class BudgetStoreError extends WardenError {
  readonly code = PlannerErrorCodes.budgetStore;
  readonly retryable = true;
}
