import type { JsonValue } from '@warden/contracts';
import type { RetrievalFact } from './types.js';

/** Facts confirmed by a knowledge.search result: each hit with its source id. */
export function factsFromResult(tool: string, result: JsonValue): RetrievalFact[] {
  if (tool !== 'knowledge.search' || typeof result !== 'object' || result === null || Array.isArray(result)) return [];
  const hits = (result as { hits?: unknown }).hits;
  if (!Array.isArray(hits)) return [];
  return hits.flatMap((h: unknown) => {
    const hit = h as { sourceId?: unknown; text?: unknown };
    return typeof hit.sourceId === 'string' && typeof hit.text === 'string'
      ? [{ sourceId: hit.sourceId, text: hit.text }]
      : [];
  });
}
