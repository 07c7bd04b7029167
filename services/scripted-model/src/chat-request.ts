import { z } from 'zod';

/**
 * The part of an OpenAI Chat Completions request the scripted model reads. Unknown fields are accepted and ignored,
 * as a real endpoint would (temperature, seed, response_format, parallel_tool_calls, ...).
 */
const ContentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

const RequestToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
});

const RequestMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(ContentPartSchema), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(RequestToolCallSchema).optional(),
  tool_call_id: z.string().optional(),
});

/** Schema of a chat completions request body (the fields the scripted model reads). */
export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(RequestMessageSchema).min(1),
  tools: z.array(z.unknown()).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.int().min(0).max(20).nullable().optional(),
  max_tokens: z.int().min(1).nullable().optional(),
  max_completion_tokens: z.int().min(1).nullable().optional(),
  n: z.literal(1, 'the scripted model answers one choice only (n must be 1)').nullable().optional(),
});

/** A chat completions request body, as validated. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** One message of a chat completions request. */
export type RequestMessage = z.infer<typeof RequestMessageSchema>;

/** The text of a message's content: a string as is, text parts joined, other parts as their JSON. */
export function messageText(content: RequestMessage['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' && part.text !== undefined ? part.text : JSON.stringify(part)))
    .join('');
}
