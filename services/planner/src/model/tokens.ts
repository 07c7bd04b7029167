import type { ChatMessage } from '@warden/contracts';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import type { TokenCounter } from '../decide/types.js';

let encoder: Tiktoken | undefined;
const tokenizer = (): Tiktoken => (encoder ??= new Tiktoken(o200kBase));

/** Counts of recently counted texts: a step re-sends mostly the same messages, so most counts are hits. */
const cache = new Map<string, number>();
const CACHE_ENTRIES = 20_000;
const CACHE_MAX_CHARS = 200_000;

function cachedCount(text: string): number {
  if (text === '') return 0;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const n = tokenizer().encode(text, [], []).length;
  if (text.length <= CACHE_MAX_CHARS) {
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(text, n);
  }
  return n;
}

/** Exact o200k_base token counts (js-tiktoken, memoised); special-token text counts as ordinary text. */
export const o200kCounter: TokenCounter = {
  count: cachedCount,
  truncate: (text, maxTokens) => {
    if (text === '' || maxTokens <= 0) return '';
    const tokens = tokenizer().encode(text, [], []);
    if (tokens.length <= maxTokens) return text;
    let out = tokenizer().decode(tokens.slice(0, maxTokens));
    // a cut inside a multi-byte character decodes to U+FFFD: drop it
    while (out.endsWith('\uFFFD')) out = out.slice(0, -1);
    return out;
  },
};

/**
 * Prompt tokens of a request by OpenAI's published recipe (the one the scripted model uses): 3 to prime the reply;
 * per message 3 + role + content (+ 1 + name) (+ tool_call_id), per tool call 3 + name + arguments; plus the JSON of
 * the tools offered.
 */
export function countPromptTokens(
  messages: readonly ChatMessage[],
  tools: readonly unknown[],
  counter: TokenCounter,
): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + counter.count(m.role) + counter.count(m.content ?? '');
    if (m.name !== undefined) total += 1 + counter.count(m.name);
    if (m.toolCallId !== undefined) total += counter.count(m.toolCallId);
    for (const c of m.toolCalls ?? []) total += 3 + counter.count(c.name) + counter.count(c.arguments);
  }
  if (tools.length > 0) total += counter.count(JSON.stringify(tools));
  return total;
}

/** Completion tokens: content, plus per tool call 3 + name + arguments (used when a server sends no usage). */
export function countCompletionTokens(
  content: string | null,
  toolCalls: readonly { name: string; arguments: string }[],
  counter: TokenCounter,
): number {
  return toolCalls.reduce(
    (t, c) => t + 3 + counter.count(c.name) + counter.count(c.arguments),
    counter.count(content ?? ''),
  );
}
