import { sha256Hex, type JsonValue } from '@warden/contracts';
import type { TokenCounter } from './types.js';

/** Texts longer than this many characters per allowed token are cut before counting (counting is linear). */
const CHARS_PER_TOKEN_CEILING = 32;

function shapeOf(value: JsonValue, depth = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string(${value.length} chars)`;
  if (typeof value !== 'object') return typeof value;
  if (Array.isArray(value))
    return `array(${value.length})${value.length > 0 && depth < 1 ? ` of ${shapeOf(value[0]!, depth + 1)}` : ''}`;
  const keys = Object.keys(value);
  if (depth >= 1) return `object(${keys.length} keys)`;
  const shown = keys.slice(0, 8).map((k) => `${k}: ${shapeOf(value[k]!, depth + 1)}`);
  return `{${shown.join(', ')}${keys.length > 8 ? `, ... ${keys.length - 8} more` : ''}}`;
}

/**
 * The text of a tool result as it enters the context: the result's JSON when it fits in `maxTokens`; otherwise its
 * first tokens within the budget followed by a note with its full size, sha256 and shape, so the model knows what
 * was left out. However large the output, the text stays within about maxTokens + 100 tokens. Pure.
 */
export function renderToolOutput(result: JsonValue, maxTokens: number, tokens: TokenCounter): string {
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  const ceiling = maxTokens * CHARS_PER_TOKEN_CEILING;
  if (text.length <= ceiling && tokens.count(text) <= maxTokens) return text;
  const head = tokens.truncate(text.slice(0, ceiling), Math.max(0, maxTokens));
  const note =
    `[output truncated to its first ${maxTokens} tokens: ${text.length} characters in all, ` +
    `sha256 ${sha256Hex(text).slice(0, 16)}; shape ${shapeOf(result).slice(0, 300)}]`;
  return `${head}\n${note}`;
}
