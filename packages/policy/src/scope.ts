import { matchesAny } from './glob.js';
import { show, truncate } from './format.js';
import { parseArgPath, valuesAt, type ArgPath } from './paths.js';
import { GuardReasonCodes } from './reason-codes.js';
import type { JsonObject, Scope } from '@warden/contracts';
import {
  ResourceKindNames,
  type CheckContext,
  type CheckResult,
  type PolicyTool,
  type ResourceKind,
  type ToolSpec,
} from './types.js';

/** A resource value after normalisation, or why it was refused. */
export type NormalisedResource =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly code: 'invalid_resource' | 'path_traversal'; readonly reason: string };

const COLLECTION = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;
const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const EMAIL_LOCAL = /^[a-z0-9.!#$%&'*+=?^_`{|}~-]{1,64}$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
const UNSAFE_PATH_CHARS = /[\u0000-\u001f\u007f\\]/;

function invalid(reason: string): NormalisedResource {
  return { ok: false, code: 'invalid_resource', reason };
}

/**
 * Normalises a path: "." segments and repeated slashes go, a trailing slash goes. A ".." segment (also
 * percent-encoded), a backslash or a control character is refused: nothing is resolved, so nothing can climb out.
 */
export function normalisePath(raw: string): NormalisedResource {
  if (raw === '' || raw.length > 4_096) return invalid('is empty or too long');
  if (UNSAFE_PATH_CHARS.test(raw)) return invalid('contains a backslash or a control character');
  const kept: string[] = [];
  for (const segment of raw.split('/')) {
    let decoded = segment;
    if (segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment);
      } catch (error) {
        return invalid(`has malformed percent-encoding (${(error as Error).message})`);
      }
    }
    if (decoded === '..' || segment === '..')
      return { ok: false, code: 'path_traversal', reason: 'has a ".." segment' };
    if (decoded.includes('/') || decoded.includes('\\')) return invalid('has an encoded separator');
    if (segment === '' || decoded === '.') continue;
    kept.push(segment);
  }
  const absolute = raw.startsWith('/');
  if (kept.length === 0) return absolute ? { ok: true, value: '/' } : invalid('names no file');
  return { ok: true, value: `${absolute ? '/' : ''}${kept.join('/')}` };
}

/** A bare host name or IPv4 address, lower-cased; a URL (anything with "://") gives its hostname. */
export function normaliseHost(raw: string): NormalisedResource {
  let host = raw;
  if (raw.includes('://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch (error) {
      return invalid(`is not a URL (${(error as Error).message})`);
    }
    host = url.hostname;
  }
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !HOSTNAME.test(host)) return invalid('is not a host name');
  return { ok: true, value: host };
}

/** One e-mail address, lower-cased. Lists ("a@x, b@y"), display names and whitespace are refused. */
export function normaliseRecipient(raw: string): NormalisedResource {
  const address = raw.toLowerCase();
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.indexOf('@') !== at) return invalid('is not one e-mail address');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (!EMAIL_LOCAL.test(local) || domain.length > 253 || !HOSTNAME.test(domain)) {
    return invalid('is not one e-mail address');
  }
  return { ok: true, value: address };
}

/** Normalises a resource value of the given kind, or says why it is refused. */
export function normaliseResource(kind: ResourceKind, value: unknown): NormalisedResource {
  if (typeof value !== 'string') return invalid('is not a string');
  switch (kind) {
    case 'collections':
      return COLLECTION.test(value) ? { ok: true, value } : invalid('is not a collection name');
    case 'paths':
      return normalisePath(value);
    case 'hosts':
      return normaliseHost(value);
    case 'recipients':
      return normaliseRecipient(value);
    default: {
      const unreachable: never = kind;
      return invalid(`has an unknown resource kind ${String(unreachable)}`);
    }
  }
}

/** Whether values of a kind compare without case (host names and e-mail addresses). */
export const caseInsensitiveKinds: ReadonlySet<ResourceKind> = new Set<ResourceKind>(['hosts', 'recipients']);

/** The resources an action touches, normalised, by kind; values that do not normalise are left out (scope denies them). */
export function resourcesOf(tool: PolicyTool | undefined, args: JsonObject | null): Record<ResourceKind, string[]> {
  const out: Record<ResourceKind, string[]> = { collections: [], paths: [], hosts: [], recipients: [] };
  if (!tool || args === null) return out;
  for (const { kind, path } of tool.resourcePaths) {
    for (const { value } of valuesAt(args, path)) {
      const normalised = normaliseResource(kind, value);
      if (normalised.ok) out[kind].push(normalised.value);
    }
  }
  return out;
}

/**
 * Scope check: the proposal's task and tenant are the task's; the tool is in scope.tools; every resource value
 * in the args (as the tool definition locates them) matches one of the scope's glob patterns for its kind.
 * Scope comes from the TaskSubmitted data only. Denies, naming every offending field.
 */
export function checkScope(ctx: CheckContext): CheckResult {
  const { state, proposal, tool } = ctx;
  if (proposal.taskId !== state.taskId) {
    return {
      outcome: 'deny',
      code: GuardReasonCodes.taskMismatch,
      detail: truncate(`proposal.taskId=${show(proposal.taskId)} is not the task ${state.taskId}`),
    };
  }
  if (proposal.tenantId !== state.tenantId) {
    return {
      outcome: 'deny',
      code: GuardReasonCodes.tenantMismatch,
      detail: truncate(`proposal.tenantId=${show(proposal.tenantId)} is not the task's tenant ${state.tenantId}`),
    };
  }
  if (proposal.kind === 'answer') return { outcome: 'allow' };
  const scope = state.task.scope;
  if (!tool)
    return {
      outcome: 'deny',
      code: GuardReasonCodes.unknownTool,
      detail: `tool ${show(proposal.tool)} is not defined`,
    };
  if (!scope.tools.includes(proposal.tool)) {
    return {
      outcome: 'deny',
      code: GuardReasonCodes.toolOutOfScope,
      detail: `tool ${show(proposal.tool)} is outside scope.tools`,
    };
  }
  const problem = resourcesOutOfScope(scope, tool.resourcePaths, proposal.args);
  if (problem === undefined) return { outcome: 'allow' };
  return { outcome: 'deny', code: problem.code, detail: problem.detail };
}

/** Where a tool's args hold resources: each resource kind with its parsed arg paths. */
export type ResourcePaths = PolicyTool['resourcePaths'];

/** The parsed resource paths of a tool definition (its `resources`, by kind). */
export function resourcePathsOf(spec: Pick<ToolSpec, 'resources'>): ResourcePaths {
  const out: { kind: ResourceKind; path: ArgPath }[] = [];
  for (const kind of ResourceKindNames) {
    for (const path of spec.resources[kind] ?? []) out.push({ kind, path: parseArgPath(path) ?? [path] });
  }
  return out;
}

/**
 * The resources in `args` (as `resourcePaths` locate them) that fall outside a task's scope, or that do not
 * normalise (a path climbing out, a malformed host): undefined when every one matches a scope pattern of its kind.
 * The guard's scope check and the executor's own check of an approval both use it, so they judge alike.
 */
export function resourcesOutOfScope(
  scope: Scope,
  resourcePaths: ResourcePaths,
  args: JsonObject,
): { readonly code: string; readonly detail: string } | undefined {
  let code: string | undefined;
  const details: string[] = [];
  for (const { kind, path } of resourcePaths) {
    const patterns: readonly string[] = scope.resources[kind] ?? [];
    for (const { where, value } of valuesAt(args, path)) {
      const normalised = normaliseResource(kind, value);
      if (!normalised.ok) {
        code ??= normalised.code;
        details.push(`args.${where}=${show(value)} ${normalised.reason}`);
      } else if (!matchesAny(normalised.value, patterns, caseInsensitiveKinds.has(kind))) {
        code ??= GuardReasonCodes.resourceOutOfScope;
        const shown =
          normalised.value === value ? show(value) : `${show(value)} (normalised ${show(normalised.value)})`;
        details.push(`args.${where}=${shown} is outside scope.resources.${kind}`);
      }
    }
  }
  return code === undefined ? undefined : { code, detail: truncate(details.join('; ')) };
}
