import {
  authenticateDecision,
  canonicalHash,
  checkDecisionBinding,
  type DecisionBindingFailure,
  type DecisionTrust,
  type EventData,
  type EventOf,
  type HeldEscalation,
  type JsonObject,
} from '@warden/contracts';
import type { RunnableTool, RunnableToolRegistry } from '@warden/tools';

/** An approval the executor acts on, from either the guard or a person. */
export interface Approval {
  readonly kind: 'ActionApproved' | 'HumanApproved';
  readonly eventId: string;
  readonly taskId: string;
  readonly tenantId: string;
  readonly actionId: string;
  /** Null for an approved answer (nothing to run). */
  readonly tool: string | null;
  readonly args: JsonObject | null;
  readonly argsHash: string;
  /** A person's approval holds until then. */
  readonly expiresAt?: string;
  /** The end of the task's wall-time budget: no effect is dispatched after it (ActionApproved, or the escalation). */
  readonly deadlineAt?: string;
  readonly policyVersion: string;
  /** A person's decision as signed (HumanApproved only): its signature and binding are checked before it runs. */
  readonly decision?: { readonly tenantId: string; readonly data: EventData<'HumanApproved'> };
  /** The guard's verdict as signed (ActionApproved only): its signature is checked before it runs. */
  readonly verdict?: { readonly tenantId: string; readonly data: EventData<'ActionApproved'> };
}

/** The approval carried by an ActionApproved or HumanApproved event. */
export function approvalOf(event: EventOf<'ActionApproved'> | EventOf<'HumanApproved'>): Approval {
  const base = {
    eventId: event.id,
    taskId: event.taskId,
    tenantId: event.tenantId,
    actionId: event.data.actionId,
    argsHash: event.data.argsHash,
    policyVersion: event.data.policyVersion,
  };
  return event.type === 'ActionApproved'
    ? {
        kind: 'ActionApproved',
        ...base,
        tool: event.data.tool,
        args: event.data.args,
        verdict: { tenantId: event.tenantId, data: event.data },
        ...(event.data.deadlineAt === undefined ? {} : { deadlineAt: event.data.deadlineAt }),
      }
    : {
        kind: 'HumanApproved',
        ...base,
        tool: event.data.tool,
        args: event.data.args,
        expiresAt: event.data.expiresAt,
        decision: { tenantId: event.tenantId, data: event.data },
      };
}

/** Why an approval is not run. */
export const RefusalCodes = {
  unknownTool: 'unknown_tool',
  argsHashMismatch: 'args_hash_mismatch',
  approvalExpired: 'approval_expired',
  invalidArgs: 'invalid_args',
  missingArgs: 'missing_args',
  ledgerMismatch: 'ledger_args_mismatch',
  unauthenticated: 'approval_unauthenticated',
  verdictUnauthenticated: 'verdict_unauthenticated',
  taskUnknown: 'task_unknown',
  taskEnded: 'task_ended',
  tenantMismatch: 'tenant_mismatch',
  toolOutOfScope: 'tool_out_of_scope',
  resourceOutOfScope: 'resource_out_of_scope',
  /** The args hold personal data sealed under an erased subject's key (ADR 0026): nothing to run them with. */
  sealedValueErased: 'sealed_value_erased',
} as const;
/** A refusal code: one of RefusalCodes, or why a person's approval does not answer its escalation. */
export type RefusalCode = (typeof RefusalCodes)[keyof typeof RefusalCodes] | DecisionBindingFailure;

/** The verdict on an approval: run this tool with these args, or refuse. */
export type ApprovalCheck =
  | { readonly ok: true; readonly tool: RunnableTool; readonly args: JsonObject }
  | { readonly ok: false; readonly code: RefusalCode; readonly message: string };

/**
 * Checks an approval before anything runs (pure). A person's approval must be signed by a trusted key (fail
 * closed: no keys, no human approvals, unless the insecure development setting is on) and answer exactly the
 * escalation it names as the executor holds it (`held`: same task, action, args hash, policy version, unexpired).
 * Then, for every approval: the tool is known, the args are present and hash to the approved argsHash (an approval
 * binds exactly those args), a person's approval has not expired, and the args pass the tool's schema. `clearArgs`:
 * the args with their sealed values opened (ADR 0026), which the schema checks and the tool gets.
 */
export function checkApproval(
  approval: Approval,
  tools: RunnableToolRegistry,
  now: Date,
  trust: DecisionTrust,
  held?: HeldEscalation,
  clearArgs?: JsonObject,
): ApprovalCheck {
  if (approval.kind === 'HumanApproved') {
    const decision = approval.decision;
    if (decision === undefined) {
      return { ok: false, code: RefusalCodes.unauthenticated, message: "a person's approval carries no decision" };
    }
    const signed = authenticateDecision('HumanApproved', approval.taskId, decision.tenantId, decision.data, trust);
    if (!signed.ok) {
      return {
        ok: false,
        code: RefusalCodes.unauthenticated,
        message: `a person's approval must be signed with a trusted decision key (${signed.reason})`,
      };
    }
    const bound = checkDecisionBinding(approval.taskId, decision.data, held, now);
    if (!bound.ok) return { ok: false, code: bound.reason, message: bound.message };
  }
  const name = approval.tool ?? '';
  const tool = tools.get(name);
  if (tool === undefined) {
    return { ok: false, code: RefusalCodes.unknownTool, message: `tool ${JSON.stringify(name)} is not registered` };
  }
  if (approval.args === null) {
    return { ok: false, code: RefusalCodes.missingArgs, message: `the approval of ${name} carries no args` };
  }
  const actual = canonicalHash(approval.args);
  if (actual !== approval.argsHash) {
    return {
      ok: false,
      code: RefusalCodes.argsHashMismatch,
      message: `args hash to ${actual} but the approval is bound to ${approval.argsHash}`,
    };
  }
  if (approval.expiresAt !== undefined && Date.parse(approval.expiresAt) <= now.getTime()) {
    return {
      ok: false,
      code: RefusalCodes.approvalExpired,
      message: `the approval expired at ${approval.expiresAt}`,
    };
  }
  // The args as the tool gets them: opened in memory when they hold sealed values (ADR 0026); the hash above binds
  // them as the approval holds them.
  const args = clearArgs ?? approval.args;
  const parsed = tool.spec.argsSchema.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(args)'}: ${i.message}`).join('; ');
    return { ok: false, code: RefusalCodes.invalidArgs, message: `args do not match ${name}: ${issues}` };
  }
  return { ok: true, tool, args };
}
