import { authenticateVerdict, type VerdictTrust } from '@warden/contracts';
import { resourcePathsOf, resourcesOutOfScope } from '@warden/policy';
import type { ToolSpec } from '@warden/tools';
import { RefusalCodes, type Approval, type RefusalCode } from './approval.js';
import type { HeldTask } from './task-state.js';

/** A check's verdict: go on, or refuse with a code and why. */
export type TrustCheck =
  { readonly ok: true } | { readonly ok: false; readonly code: RefusalCode; readonly message: string };

/**
 * Checks that the guard signed an ActionApproved (pure): under one of the guard's public keys, bound to this task
 * and tenant and every field of the verdict. Fail closed: with no key configured every verdict is refused, unless
 * the insecure development setting is on. A person's approval (HumanApproved) is checked by checkApproval instead.
 */
export function checkVerdictSignature(approval: Approval, trust: VerdictTrust): TrustCheck {
  if (approval.kind !== 'ActionApproved') return { ok: true };
  if (approval.verdict === undefined) {
    return { ok: false, code: RefusalCodes.verdictUnauthenticated, message: 'the approval carries no verdict' };
  }
  const auth = authenticateVerdict(
    'ActionApproved',
    approval.taskId,
    approval.verdict.tenantId,
    approval.verdict.data,
    trust,
  );
  if (auth.ok) return { ok: true };
  return {
    ok: false,
    code: RefusalCodes.verdictUnauthenticated,
    message: `the guard's verdict must be signed with a key in WARDEN_GUARD_PUBLIC_KEYS (${auth.reason})`,
  };
}

/**
 * Checks an approval against the executor's own record of its task (pure): the task was submitted (the executor saw
 * its TaskSubmitted), has not ended, belongs to the approval's tenant, and has the tool and every resource the args
 * name in its scope (the same resource rules as the guard's scope check). `spec` is the approved tool's definition
 * (undefined for an unknown tool, which checkApproval refuses).
 */
export function checkTaskScope(
  approval: Approval,
  task: HeldTask | undefined,
  spec: Pick<ToolSpec, 'name' | 'resources'> | undefined,
): TrustCheck {
  const R = RefusalCodes;
  if (task === undefined || task.scope === undefined) {
    if (task?.ended === true) return { ok: false, code: R.taskEnded, message: `task ${approval.taskId} has ended` };
    return { ok: false, code: R.taskUnknown, message: `no TaskSubmitted is known for task ${approval.taskId}` };
  }
  if (task.ended) return { ok: false, code: R.taskEnded, message: `task ${approval.taskId} has ended` };
  if (task.tenantId !== approval.tenantId) {
    return {
      ok: false,
      code: R.tenantMismatch,
      message: `the approval names tenant ${approval.tenantId}, the task is of another tenant`,
    };
  }
  if (approval.tool === null || spec === undefined) return { ok: true }; // nothing to run, or refused as unknown
  if (!task.scope.tools.includes(approval.tool)) {
    return { ok: false, code: R.toolOutOfScope, message: `tool ${approval.tool} is outside the task's scope.tools` };
  }
  if (approval.args === null) return { ok: true }; // refused by checkApproval (missing args)
  const problem = resourcesOutOfScope(task.scope, resourcePathsOf(spec), approval.args);
  if (problem === undefined) return { ok: true };
  return { ok: false, code: R.resourceOutOfScope, message: `${problem.code}: ${problem.detail}` };
}
