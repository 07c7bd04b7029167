/**
 * `warden escalations list|show|approve|deny|resume|cancel`: what the guard, the planner or the executor paused for a person,
 * through the escalation service's people API (ESCALATION_URL, with the bearer token ESCALATION_TOKEN). An approval
 * sends back the args hash and policy version the person was shown, so the service refuses it if either changed.
 */
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes, unavailableError, usageError, type ExitCode } from '../errors.js';
import { readFleet } from '../fleet.js';
import { say } from './io.js';

/** An escalation as the people API shows it. */
interface ShownEscalation {
  readonly taskId: string;
  readonly tenantId: string;
  readonly escalationId: string;
  readonly status: string;
  readonly expiresAt: string;
  readonly requested: {
    readonly reasonCode?: string;
    readonly reason?: string;
    readonly source?: string;
    readonly policyVersion?: string;
    readonly action?: { readonly tool?: string; readonly args?: unknown; readonly argsHash?: string } | null;
    readonly answer?: { readonly argsHash?: string } | null;
  };
  readonly decision?: { readonly decidedBy?: { readonly id?: string; readonly role?: string } };
  readonly halt?: { readonly eventId: string; readonly reasonCode: string };
  readonly task?: {
    readonly budget?: Record<'tokens' | 'costUsd' | 'steps', { used: number; limit: number; remaining: number }>;
    readonly breakers?: { readonly task: boolean; readonly openTools: ReadonlyArray<{ readonly tool: string }> };
  };
}

/** Where the people API is and who calls it. */
export interface PeopleApiAccess {
  readonly url: string;
  readonly token: string;
}

/**
 * The people API to use: ESCALATION_URL and ESCALATION_TOKEN, or else the escalation service of the fleet `warden up`
 * started on this prefix, with its approver's token.
 */
function accessOf(config: CliConfig): PeopleApiAccess {
  if (config.escalationToken !== undefined) return { url: config.escalationUrl, token: config.escalationToken };
  const fleet = readFleet(config)?.escalation;
  if (fleet !== undefined) return fleet;
  throw usageError(
    'no token for the escalation service',
    'set ESCALATION_TOKEN to your bearer token (a JWT, or a token of the service’s token file), or start the fleet with `warden up`',
  );
}

/** One request to the people API; typed errors for what a person can act on. */
async function call(access: PeopleApiAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${access.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${access.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw unavailableError(
      `the escalation service at ${access.url} does not answer: ${(error as Error).message}`,
      'start it (`warden up escalation`) or set ESCALATION_URL to where it runs',
      error,
    );
  }
  const text = await response.text();
  let json: { error?: string; message?: string };
  try {
    json = text === '' ? {} : (JSON.parse(text) as { error?: string; message?: string });
  } catch {
    json = { message: text.slice(0, 500) }; // not JSON: a proxy's error page, shown as it is
  }
  if (response.ok) return json;
  const { error = 'error', message = text } = json;
  if (response.status === 401 || response.status === 403) {
    throw new CliError(CliErrorCodes.usage, `refused (${response.status} ${error}): ${message}`, {
      exitCode: ExitCodes.usage,
      hint: 'check ESCALATION_TOKEN: deciding needs the approver or admin role for the task’s tenant',
    });
  }
  if (response.status === 404) {
    throw new CliError(CliErrorCodes.notFound, `no such escalation: ${message}`, {
      hint: 'list them with `warden escalations list`',
    });
  }
  throw new CliError(CliErrorCodes.failed, `refused (${response.status} ${error}): ${message}`);
}

const escalationPath = (taskId: string, escalationId: string): string =>
  `/tasks/${encodeURIComponent(taskId)}/escalations/${encodeURIComponent(escalationId)}`;

function line(e: ShownEscalation): string {
  const r = e.requested;
  const what = r.action?.tool !== undefined ? `${r.action.tool} ${JSON.stringify(r.action.args ?? {})}` : 'answer';
  return `${e.status.padEnd(9)} ${e.taskId} ${e.escalationId}  ${r.reasonCode ?? ''}: ${what}  (expires ${e.expiresAt})`;
}

/** `warden escalations list`: the escalations the token's tenants may see, optionally of one status. */
export async function listEscalations(
  config: CliConfig,
  options: { readonly status?: string; readonly json: boolean },
): Promise<ExitCode> {
  const query = options.status === undefined ? '' : `?status=${encodeURIComponent(options.status)}`;
  const { escalations } = (await call(accessOf(config), 'GET', `/escalations${query}`)) as {
    escalations: ShownEscalation[];
  };
  if (options.json) say(JSON.stringify(escalations));
  else if (escalations.length === 0) say('no escalations');
  else for (const e of escalations) say(line(e));
  return ExitCodes.ok;
}

/** `warden escalations show TASK ESCALATION`: what was paused and why. */
export async function showEscalation(
  config: CliConfig,
  taskId: string,
  escalationId: string,
  json: boolean,
): Promise<ExitCode> {
  const e = (await call(accessOf(config), 'GET', escalationPath(taskId, escalationId))) as ShownEscalation;
  if (json) {
    say(JSON.stringify(e));
    return ExitCodes.ok;
  }
  say(line(e));
  say(`  tenant ${e.tenantId}, from ${e.requested.source ?? '?'}, policy ${e.requested.policyVersion ?? '?'}`);
  say(`  why: ${e.requested.reason ?? ''}`);
  if (e.halt !== undefined) say(`  halted: ${e.halt.reasonCode} (resume or cancel it as an admin)`);
  const b = e.task?.budget;
  if (b !== undefined) {
    const f = (x: { used: number; limit: number; remaining: number }) => `${x.used}/${x.limit} (${x.remaining} left)`;
    say(`  budget: tokens ${f(b.tokens)}, cost USD ${f(b.costUsd)}, steps ${f(b.steps)}`);
  }
  const open = [
    ...(e.task?.breakers?.task === true ? ['the task'] : []),
    ...(e.task?.breakers?.openTools.map((t) => t.tool) ?? []),
  ];
  if (e.task !== undefined) say(`  open breakers: ${open.length === 0 ? 'none' : open.join(', ')}`);
  if (e.decision?.decidedBy !== undefined)
    say(`  decided by ${e.decision.decidedBy.id ?? '?'} (${e.decision.decidedBy.role ?? '?'})`);
  return ExitCodes.ok;
}

/**
 * Decides an escalation through the people API as the token's person. The args hash and policy version are the
 * ones the service shows now, read just before, so a decision binds to exactly what was shown. Returns the
 * decision's event id.
 */
export async function decideThroughPeopleApi(
  access: PeopleApiAccess,
  kind: 'approve' | 'deny',
  taskId: string,
  escalationId: string,
  comment?: string,
): Promise<string> {
  const path = escalationPath(taskId, escalationId);
  const shown = (await call(access, 'GET', path)) as ShownEscalation;
  const argsHash = shown.requested.action?.argsHash ?? shown.requested.answer?.argsHash;
  const result = (await call(access, 'POST', `${path}/${kind}`, {
    ...(argsHash === undefined ? {} : { argsHash }),
    ...(shown.requested.policyVersion === undefined ? {} : { policyVersion: shown.requested.policyVersion }),
    ...(comment === undefined ? {} : { comment }),
  })) as { status?: string; eventId?: string };
  return result.eventId ?? '?';
}

/** `warden escalations approve|deny TASK ESCALATION`. */
export async function decideEscalation(
  config: CliConfig,
  kind: 'approve' | 'deny',
  taskId: string,
  escalationId: string,
  comment: string | undefined,
): Promise<ExitCode> {
  const eventId = await decideThroughPeopleApi(accessOf(config), kind, taskId, escalationId, comment);
  say(`${kind === 'approve' ? 'approved' : 'denied'}: ${taskId} ${escalationId} (event ${eventId})`);
  return ExitCodes.ok;
}

/** `warden escalations resume|cancel TASK ESCALATION`: an admin's answer to a task halted by a defence. */
export async function decideHalt(
  config: CliConfig,
  kind: 'resume' | 'cancel',
  taskId: string,
  escalationId: string,
  comment: string | undefined,
  grant: { tokens?: number; costUsd?: number; steps?: number; wallTimeMs?: number } = {},
): Promise<ExitCode> {
  const result = (await call(accessOf(config), 'POST', `${escalationPath(taskId, escalationId)}/${kind}`, {
    ...(comment === undefined ? {} : { comment }),
    ...(Object.keys(grant).length === 0 ? {} : { grant }),
  })) as { eventId?: string };
  say(`${kind === 'resume' ? 'resumed' : 'cancelled'}: ${taskId} ${escalationId} (event ${result.eventId ?? '?'})`);
  return ExitCodes.ok;
}
