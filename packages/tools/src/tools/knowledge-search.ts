import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';

/** A fact of the ground-truth collection: `_id` is its source id. */
export interface KnowledgeDoc {
  _id: string;
  text: string;
}

const MAX_FACTS_SCANNED = 10_000;
const tokens = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * knowledge.search: retrieval over the ground-truth collection. Each hit is a stored fact with its source id,
 * scored by the share of the query's words it contains (FerretDB has no text index; the collection is small).
 */
export const knowledgeSearch = defineDemoTool({
  name: 'knowledge.search',
  description: 'Search the ground-truth store',
  destructive: false,
  riskTier: 'low',
  argsSchema: z
    .object({ query: z.string().min(1).max(2_000), topK: z.number().int().min(1).max(50).optional() })
    .strict(),
  outputSchema: z.object({
    hits: z.array(z.object({ sourceId: z.string().min(1), text: z.string(), score: z.number().finite() })),
  }),
  resources: {},
  outputTrust: 'trusted',
  criticalFields: [],
  estimateImpact: () => Promise.resolve(noImpact),
  run: async (args, deps, ctx) => {
    const wanted = new Set(tokens(args.query));
    const docs = await deps.db
      .collection<KnowledgeDoc>(deps.knowledgeCollection)
      .find({}, { signal: ctx.signal })
      .limit(MAX_FACTS_SCANNED)
      .toArray();
    const hits = docs
      .map((d) => {
        const have = new Set(tokens(d.text));
        const matched = [...wanted].filter((w) => have.has(w)).length;
        return { sourceId: String(d._id), text: d.text, score: wanted.size === 0 ? 0 : matched / wanted.size };
      })
      .filter((h) => h.score > 0)
      .sort((a, b) => b.score - a.score || a.sourceId.localeCompare(b.sourceId))
      .slice(0, args.topK ?? 5);
    return { hits };
  },
});
