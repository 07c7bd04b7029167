import type { ChatMessage } from '@warden/contracts';
import type { TaskState, TokenCounter, Turn, WindowSettings } from './types.js';

/**
 * The system prompt: what the planner asks of any model, including the confidence protocol
 * (services/scripted-model/README.md, "How confidence is conveyed").
 */
export const SYSTEM_PROMPT = [
  'You are the planner of an agent that acts only through the tools offered. Work toward the task in small steps.',
  "Every reply's content must be exactly one JSON object, no code fence, no text around it.",
  'When you call tools: {"reasoning": string, "confidence": number 0..1, "claims": [{"text": string, "evidence": [{"kind": "task_input"|"tool_result"|"retrieval", "ref": string}]}]}; tool arguments carry only the tool\'s arguments.',
  'When you are done: {"answer": string, "reasoning": string, "confidence": number 0..1, "claims": [...]} and no tool calls.',
  'Evidence refs: a dot path into the task input, the tool_call_id of an earlier result, or a retrieved document id.',
  'Confidence is your honest probability that the step is right. Never invent ids, amounts or addresses.',
].join('\n');

/** The task message: the goal and its input. */
export function taskMessage(state: Pick<TaskState, 'goal' | 'input'>): ChatMessage {
  return { role: 'user', content: `Task: ${state.goal}\nTask input (JSON): ${JSON.stringify(state.input)}` };
}

function turnLine(turn: Turn, index: number): string {
  const calls = (turn.assistant.toolCalls ?? []).map((c) => `${c.name}(${c.arguments.slice(0, 120)})`);
  const what =
    calls.length > 0 ? calls.join(', ') : `reply ${JSON.stringify((turn.assistant.content ?? '').slice(0, 120))}`;
  const results = turn.replies.map((r) => (r.content ?? '').replaceAll('\n', ' ').slice(0, 160));
  return `${index + 1}. ${what} -> ${results.length > 0 ? results.join(' | ') : '(no result)'}`;
}

/**
 * A running summary of the turns that left the window, within `maxTokens`: one line per turn (calls, first
 * characters of each result), the most recent kept when they do not all fit. Deterministic and extractive (no model
 * call), so it costs nothing and cannot hallucinate. Pure.
 */
export function summariseTurns(turns: readonly Turn[], maxTokens: number, tokens: TokenCounter): string {
  const header = `Summary of the ${turns.length} earlier turns (oldest first):`;
  const lines = turns.map(turnLine);
  let budget = maxTokens - tokens.count(header) - 16;
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const cost = tokens.count(lines[i]!) + 1;
    if (cost > budget) break;
    kept.unshift(lines[i]!);
    budget -= cost;
  }
  const omitted = lines.length - kept.length;
  return [header, ...(omitted > 0 ? [`(${omitted} older turns omitted)`] : []), ...kept].join('\n');
}

/**
 * The messages of the next model call: the system prompt, the task, a running summary of the turns that left the
 * window, and the last N turns verbatim (each turn whole: an assistant message with tool calls is always followed by
 * its tool replies). Tool outputs were already cut to their budget when they entered the state. Once more than N
 * turns exist the prompt stops growing: it is bounded by the system prompt + task + summary budget + N turns. Pure.
 */
export function buildContext(state: TaskState, window: WindowSettings, tokens: TokenCounter): ChatMessage[] {
  const keep = Math.max(1, window.lastTurns);
  const old = state.turns.slice(0, Math.max(0, state.turns.length - keep));
  const recent = state.turns.slice(old.length);
  const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }, taskMessage(state)];
  if (old.length > 0) messages.push({ role: 'user', content: summariseTurns(old, window.summaryMaxTokens, tokens) });
  for (const turn of recent) messages.push(turn.assistant, ...turn.replies);
  return messages;
}
