import { defineRunnableTool } from '../runnable.js';
import { knowledgeSearch } from '../demo-tools.js';
import type { Db } from 'mongodb';

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
export function knowledgeSearchTool(db: Db, collection = 'knowledge') {
  const facts = db.collection<KnowledgeDoc>(collection);
  return defineRunnableTool({
    spec: knowledgeSearch,
    riskTier: 'low',
    estimateImpact: () => Promise.resolve({ rows: 0, files: 0, recipients: 0, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const wanted = new Set(tokens(args.query));
      const docs = await facts.find({}, { signal: ctx.signal }).limit(MAX_FACTS_SCANNED).toArray();
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
}
