/** How the CLI shows events to a person: one readable line per event, coloured on a terminal. */
import { withPlaceholders, type JsonValue, type WardenEvent } from '@warden/contracts';

/** A value as a line shows it: sealed personal data as `[sealed: <subject>]` (ADR 0026). */
const shown = (value: JsonValue): string => JSON.stringify(withPlaceholders(value));

const codes = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
/** A colour the CLI uses. */
export type Colour = keyof typeof codes;

/** Wraps text in an ANSI colour when `on`. */
export const paint = (on: boolean, colour: Colour, text: string): string =>
  on ? `\u001b[${codes[colour]}m${text}\u001b[0m` : text;

/** What an event says, in a few words (its data, not its envelope). */
export function describeEvent(e: WardenEvent): string {
  switch (e.type) {
    case 'TaskSubmitted':
      return JSON.stringify(e.data.goal).slice(0, 100);
    case 'ActionProposed':
      return `${e.data.tool} ${shown(e.data.args).slice(0, 100)} (confidence ${Number(e.data.confidence.value.toFixed(2))})`;
    case 'AnswerProposed':
      return shown(e.data.answer).slice(0, 100);
    case 'ActionApproved':
    case 'ActionRejected':
      return `${e.data.reasonCode}${e.data.ruleFired === null ? '' : ` (rule ${e.data.ruleFired})`}`;
    case 'EscalationRequested':
      return `asks a person: ${e.data.reason}`;
    case 'HumanApproved':
      return `${e.data.decidedBy.id} (${e.data.decidedBy.role ?? 'no role'}), signed by key ${e.data.signature?.keyId ?? 'none'}`;
    case 'ToolSucceeded':
      return `${e.data.tool} -> ${shown(e.data.result).slice(0, 90)}`;
    case 'ToolFailed':
      return `${e.data.tool}: ${e.data.errorClass} ${e.data.message.slice(0, 80)}`;
    case 'ModelCalled':
      return `${e.data.model}, prompt ${e.data.promptTokens} tokens`;
    case 'ModelFailed':
      return `${e.data.errorClass}`;
    case 'BreakerOpened':
      return `${e.data.scope} ${e.data.name}: ${e.data.reason.slice(0, 100)}`;
    case 'BreakerClosed':
      return `${e.data.scope} ${e.data.name}`;
    case 'AlertRaised':
      return `${e.data.severity} ${e.data.code}: ${e.data.message.slice(0, 100)}`;
    case 'ModelResponded':
      return `${e.data.usage.totalTokens} tokens, $${e.data.costUsd.toFixed(5)}`;
    case 'LoopDetected':
      return `${e.data.kind}: ${e.data.message}`;
    case 'TaskCompleted':
      return shown(e.data.answer).slice(0, 100);
    case 'TaskHalted':
      return `${e.data.reasonCode}: ${e.data.partial.why}`;
    default:
      return '';
  }
}

const colourOf = (type: string): Colour =>
  /Rejected|Failed|Halted|Denied|Exhausted|LoopDetected|BreakerOpened|DeadLettered/.test(type)
    ? 'red'
    : /Escalation|Alert/.test(type)
      ? 'yellow'
      : /Completed|Approved|Succeeded|BreakerClosed/.test(type)
        ? 'green'
        : 'cyan';

/** One line for an event: time, task, seq, producer, type and what it says. */
export function eventLine(e: WardenEvent, colour: boolean, withTask = true): string {
  const time = e.occurredAt.slice(11, 23);
  const task = withTask ? `${paint(colour, 'magenta', e.taskId)} ` : '';
  const producer = (e.producer.split('@')[0] ?? e.producer).padEnd(8);
  return `${paint(colour, 'dim', time)} ${task}${String(e.seq).padStart(3)} ${producer} ${paint(colour, colourOf(e.type), e.type.padEnd(19))} ${describeEvent(e)}`;
}
