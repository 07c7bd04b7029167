import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CLAIMS_PER_PROPOSAL, MAX_EVIDENCE_PER_CLAIM, ProtocolClaim, ProtocolEvidence } from '@warden/contracts';
import { z } from 'zod';
import { ScenarioError } from './errors.js';

/** The folder of scenario files shipped with this service (services/scripted-model/scenarios). */
export const BUNDLED_SCENARIOS_DIR: string = fileURLToPath(new URL('../scenarios/', import.meta.url));

/** The statuses a scripted failure may answer with: the ones a real endpoint throws at a client to make it retry. */
export const FAILURE_STATUSES = [429, 500, 503] as const;

/** What the server does when a conversation has more assistant turns than the script has steps. */
export const ON_EXHAUSTED = ['repeat_last', 'error'] as const;

const MAX_DELAY_MS = 10 * 60_000;
const MAX_REPEAT = 1_000_000;

/**
 * Claims in a scenario file are the confidence protocol's (so what the server writes, the planner can read), and
 * stricter: an unknown key is a typo, not an extension, and a quote, when given, is not empty.
 */
const StrictClaimSchema = z.strictObject({
  ...ProtocolClaim.shape,
  evidence: z
    .array(z.strictObject({ ...ProtocolEvidence.shape, quote: z.string().min(1).optional() }))
    .max(MAX_EVIDENCE_PER_CLAIM),
});

const FailureSchema = z.strictObject({
  status: z.literal(FAILURE_STATUSES, `expected one of ${FAILURE_STATUSES.join(', ')}`),
  times: z.int().min(1).max(10_000),
  retryAfterMs: z.int().min(0).max(MAX_DELAY_MS).optional(),
  message: z.string().min(1).optional(),
});

const WhenSchema = z.strictObject({
  /** Matches when the last tool message's text contains this string (or any of these strings). */
  lastToolResultContains: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
});

const toolCallId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1 to 64 letters, digits, "_" or "-"');

const toolName = z.string().min(1).max(128);

const ToolCallSpecSchema = z.strictObject({
  id: toolCallId.optional(),
  name: toolName,
  arguments: z.union([z.record(z.string(), z.unknown()), z.string()]),
});

const stepCommon = {
  /** Free text for people reading the script; never sent. */
  note: z.string().optional(),
  when: WhenSchema.optional(),
  confidence: z.number().min(0).max(1),
  reasoning: z.string(),
  claims: z.array(StrictClaimSchema).max(MAX_CLAIMS_PER_PROPOSAL).optional(),
  delayMs: z.int().min(0).max(MAX_DELAY_MS).optional(),
  failures: z.array(FailureSchema).optional(),
  envelope: z.enum(['json', 'none']).default('json'),
};

const ToolCallsStepInput = z.strictObject({
  kind: z.literal('tool_calls'),
  calls: z.array(ToolCallSpecSchema).min(1),
  ...stepCommon,
});

const ToolCallStepInput = z.strictObject({
  kind: z.literal('tool_call'),
  id: toolCallId.optional(),
  name: toolName,
  arguments: z.union([z.record(z.string(), z.unknown()), z.string()]),
  ...stepCommon,
});

const AnswerStepInput = z.strictObject({
  kind: z.literal('answer'),
  content: z.string(),
  repeat: z.int().min(1).max(MAX_REPEAT).default(1),
  ignoreMaxTokens: z.boolean().default(false),
  ...stepCommon,
});

const StepInput = z.discriminatedUnion('kind', [ToolCallsStepInput, ToolCallStepInput, AnswerStepInput]);
type StepInput = z.infer<typeof StepInput>;
const AlternativesInput = z.array(StepInput).min(1);

/**
 * One position of the script: a step, or an array of alternatives. Validated with the schema its shape calls for
 * (not a union), so a bad step reports its own problem and path rather than a bare "Invalid input".
 */
const SlotInput = z.unknown().transform((value, ctx): StepInput | StepInput[] => {
  const parsed = Array.isArray(value) ? AlternativesInput.safeParse(value) : StepInput.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

const ScenarioInputSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected kebab-case: lowercase letters, digits and "-"'),
    description: z.string().min(1),
    task: z
      .strictObject({ instruction: z.string().min(1), input: z.record(z.string(), z.unknown()).optional() })
      .optional(),
    onExhausted: z.enum(ON_EXHAUSTED).default('repeat_last'),
    contextWindowTokens: z.int().min(1).optional(),
    steps: z.array(SlotInput).min(1),
  })
  .superRefine((scenario, ctx) => {
    scenario.steps.forEach((slot, index) => {
      if (!Array.isArray(slot)) {
        if (slot.when !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index, 'when'],
            message: '"when" is only allowed on the alternatives of a step (an array of steps)',
          });
        }
        checkToolCallIds(slot, ['steps', index], ctx);
        return;
      }
      slot.forEach((alternative, altIndex) => {
        const last = altIndex === slot.length - 1;
        if (!last && alternative.when === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index, altIndex, 'when'],
            message: 'every alternative but the last needs a "when"',
          });
        }
        if (last && alternative.when !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index, altIndex, 'when'],
            message: 'the last alternative is the fallback and must not have a "when"',
          });
        }
        checkToolCallIds(alternative, ['steps', index, altIndex], ctx);
      });
    });
  });

function checkToolCallIds(step: StepInput, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (step.kind !== 'tool_calls') return;
  const seen = new Set<string>();
  step.calls.forEach((call, i) => {
    if (call.id === undefined) return;
    if (seen.has(call.id)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'calls', i, 'id'], message: `duplicate tool call id ${call.id}` });
    }
    seen.add(call.id);
  });
}

/** The JSON a scenario file holds (defaults not yet applied). Use it to write scenarios inline in tests. */
export type ScenarioInput = z.input<typeof ScenarioInputSchema>;

/** A scripted failure: answer `status` for the first `times` attempts of a step. */
export type ScriptedFailure = z.infer<typeof FailureSchema>;

/** The condition under which an alternative of a step plays. */
export type StepCondition = z.infer<typeof WhenSchema>;

/** One tool call a step makes. `arguments` as a string is sent verbatim (so it may be malformed JSON). */
export interface ToolCallSpec {
  /** The tool call id to send; generated (deterministically) when absent. */
  readonly id?: string | undefined;
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>> | string;
}

/** What every step shares. */
export interface StepCommon {
  readonly note?: string | undefined;
  readonly when?: StepCondition | undefined;
  /** The model's confidence in this turn, 0..1. */
  readonly confidence: number;
  readonly reasoning: string;
  readonly claims?: readonly ProtocolClaim[] | undefined;
  /** Wait this long before answering any attempt of this step. */
  readonly delayMs?: number | undefined;
  /** Fail the first attempts of this step, in order. */
  readonly failures?: readonly ScriptedFailure[] | undefined;
  /** "json": content carries the confidence envelope; "none": content is sent as is (null for tool-call turns). */
  readonly envelope: 'json' | 'none';
}

/** A turn in which the model calls one or more tools. */
export interface ToolCallsStep extends StepCommon {
  readonly kind: 'tool_calls';
  readonly calls: readonly ToolCallSpec[];
}

/** A turn in which the model answers. The answer text is `content` repeated `repeat` times. */
export interface AnswerStep extends StepCommon {
  readonly kind: 'answer';
  readonly content: string;
  readonly repeat: number;
  /**
   * A misbehaving server: the answer is sent whole, past max_completion_tokens, with finish_reason "stop" and its
   * true usage (the planner must charge it, refuse it and halt, or cut a stream at the limit).
   */
  readonly ignoreMaxTokens: boolean;
}

/** One scripted turn of the model. */
export type ScriptStep = ToolCallsStep | AnswerStep;

/** One position of the script: its alternatives in order; the first whose `when` matches plays. */
export interface ScriptTurn {
  readonly alternatives: readonly ScriptStep[];
}

/** A parsed, validated scenario. */
export interface Scenario {
  readonly id: string;
  readonly description: string;
  /** An example task this script answers, for demos and docs; the server never reads it. */
  readonly task?:
    { readonly instruction: string; readonly input?: Readonly<Record<string, unknown>> | undefined } | undefined;
  readonly onExhausted: (typeof ON_EXHAUSTED)[number];
  /** When set, prompts over this many tokens are refused with context_length_exceeded. */
  readonly contextWindowTokens?: number | undefined;
  /** Turn i plays when the request is at turn i (see conversationTurn: i assistant messages, or fewer when windowed). */
  readonly turns: readonly ScriptTurn[];
  /** sha256 (hex) of the scenario's JSON; the response's system_fingerprint derives from it. */
  readonly fingerprint: string;
  /** Where the scenario came from (a file path, or "inline"). */
  readonly source: string;
}

function normalizeStep(step: StepInput): ScriptStep {
  if (step.kind === 'tool_call') {
    const { kind: _kind, id, name, arguments: args, ...common } = step;
    return { kind: 'tool_calls', calls: [{ id, name, arguments: args }], ...common };
  }
  return step;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Validates one scenario (the parsed JSON of a scenario file, or an inline object in a test) and normalises it.
 * Throws a ScenarioError that names the source and lists every problem with its path, e.g.
 * `refund.json: steps[1].calls[0].name: Too small: expected string to have >=1 characters`.
 */
export function parseScenario(input: unknown, source = 'inline'): Scenario {
  const parsed = ScenarioInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw new ScenarioError(`${source}: invalid scenario:\n  ${problems.join('\n  ')}`, {
      details: { source, problems },
    });
  }
  const data = parsed.data;
  return {
    id: data.id,
    description: data.description,
    task: data.task,
    onExhausted: data.onExhausted,
    contextWindowTokens: data.contextWindowTokens,
    turns: data.steps.map((slot) => ({ alternatives: (Array.isArray(slot) ? slot : [slot]).map(normalizeStep) })),
    fingerprint: createHash('sha256').update(JSON.stringify(input)).digest('hex'),
    source,
  };
}

/**
 * Loads every `*.json` file of a folder as a scenario. A file's `id` must equal its name without `.json`.
 * Reports every bad file at once in one ScenarioError (unreadable, not JSON, schema problems, id mismatch).
 */
export async function loadScenarios(dir: string): Promise<Scenario[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw new ScenarioError(`cannot read the scenarios folder ${dir}: ${(error as Error).message}`, {
      cause: error,
      details: { dir },
    });
  }
  if (names.length === 0) throw new ScenarioError(`no scenario files (*.json) in ${dir}`, { details: { dir } });

  const scenarios: Scenario[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const scenario = await loadScenarioFile(path);
      const expectedId = basename(name, '.json');
      if (scenario.id !== expectedId) {
        problems.push(`${path}: id "${scenario.id}" must equal the file name "${expectedId}"`);
        continue;
      }
      scenarios.push(scenario);
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    throw new ScenarioError(`${problems.length} bad scenario file(s) in ${dir}:\n${problems.join('\n')}`, {
      details: { dir, problems },
    });
  }
  return scenarios;
}

/** Reads and validates one scenario file. Throws a ScenarioError naming the file on any problem. */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`${path}: cannot read: ${(error as Error).message}`, { cause: error, details: { path } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`${path}: not valid JSON: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  }
  return parseScenario(json, path);
}
