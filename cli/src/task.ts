/**
 * A task from a person: a JSON or YAML file and/or flags, merged over defaults a person need not write (limits,
 * budgets, risk, requester), then validated with the TaskSubmitted schema, the same one every worker checks.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_TASK_CONTROLS, eventDataSchemas, type EventDataInput } from '@warden/contracts';
import { parse as parseYaml } from 'yaml';
import { CliError, CliErrorCodes, ExitCodes, usageError } from './errors.js';

/** What a task gets when its file and flags say nothing: modest limits and budgets, escalate when over. */
export const DEFAULT_TASK_FIELDS = {
  requester: { id: 'cli', kind: 'user' },
  limits: DEFAULT_TASK_CONTROLS.limits,
  budgets: DEFAULT_TASK_CONTROLS.budgets,
  risk: DEFAULT_TASK_CONTROLS.risk,
} as const satisfies Partial<EventDataInput<'TaskSubmitted'>>;

/** The submit command's flags. */
export interface TaskFlags {
  readonly file?: string;
  readonly goal?: string;
  readonly input?: string;
  readonly tools?: string;
  readonly collections?: string;
  readonly model?: string;
}

function readTaskFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw usageError(`${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(`${file} must hold one object (the task's data: goal, input, scope, ...)`);
  }
  return value as Record<string, unknown>;
}

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

/** Builds and validates the task's data; a problem names each bad field and what it expects. */
export function buildTask(flags: TaskFlags): EventDataInput<'TaskSubmitted'> {
  const fromFile = flags.file === undefined ? {} : readTaskFile(flags.file);
  const merged: Record<string, unknown> = { ...DEFAULT_TASK_FIELDS, input: {}, ...fromFile };
  if (flags.goal !== undefined) merged.goal = flags.goal;
  if (flags.input !== undefined) {
    try {
      merged.input = JSON.parse(flags.input) as unknown;
    } catch (error) {
      throw usageError(`--input is not JSON: ${(error as Error).message}`, `e.g. --input '{"orderId":"ord_1"}'`);
    }
  }
  if (flags.tools !== undefined || flags.collections !== undefined) {
    const scope = (typeof merged.scope === 'object' && merged.scope !== null ? merged.scope : {}) as Record<
      string,
      unknown
    >;
    const resources = (
      typeof scope.resources === 'object' && scope.resources !== null ? scope.resources : {}
    ) as Record<string, unknown>;
    merged.scope = {
      ...scope,
      ...(flags.tools === undefined ? {} : { tools: list(flags.tools) }),
      resources: { ...resources, ...(flags.collections === undefined ? {} : { collections: list(flags.collections) }) },
    };
  }
  if (flags.model !== undefined) merged.model = flags.model;
  const parsed = eventDataSchemas.TaskSubmitted.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `  ${i.path.length === 0 ? '(task)' : i.path.join('.')}: ${i.message}`,
    );
    throw new CliError(CliErrorCodes.invalidTask, `the task is not a valid TaskSubmitted:\n${problems.join('\n')}`, {
      exitCode: ExitCodes.usage,
      hint: 'fix the fields above (the schema: schemas/events/TaskSubmitted.json; an example: cli/examples/task.yaml)',
    });
  }
  return merged as EventDataInput<'TaskSubmitted'>;
}
