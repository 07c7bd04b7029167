import { readFile, rm } from 'node:fs/promises';
import { Sha256Hex, noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { unlessMissing } from '../stores/workspace.js';
import { Count, FilePath } from './fields.js';

/** The file's content, or null when there is no such file (a directory is not a file: EISDIR reads as none). */
async function fileContent(path: string, signal: AbortSignal): Promise<Buffer | null> {
  try {
    return await unlessMissing(() => readFile(path, { signal }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw error;
  }
}

/**
 * files.delete: deletes files of the workspace (never directories). Its impact is the number of distinct paths it
 * names, from the arguments: an upper bound (a missing path or a directory is skipped), and one the guard can tell
 * without the executor's workspace. Before removing a file it keeps a copy under its effect key, and it reports the
 * files it removed with the sha256 of their content (`removed`): its compensation, files.restore, puts them back
 * (ADR 0026). It has no verify(): once the files are gone, nothing tells whether this effect removed them, so a crash
 * between dispatch and commit is escalated as outcome_unknown.
 */
export const filesDelete = defineDemoTool({
  name: 'files.delete',
  description: 'Delete files',
  destructive: true,
  riskTier: 'critical',
  argsSchema: z.object({ paths: z.array(FilePath).min(1).max(1_000) }).strict(),
  outputSchema: z.object({
    deleted: Count,
    removed: z.array(z.object({ path: FilePath, sha256: Sha256Hex })).optional(),
  }),
  resources: { paths: ['paths.*'] },
  outputTrust: 'trusted',
  criticalFields: ['paths.*'],
  estimateImpact: (args) => Promise.resolve({ ...noImpact, files: new Set(args.paths).size }),
  run: async (args, deps, ctx) => {
    const paths = await Promise.all(args.paths.map(async (p) => ({ arg: p, path: await deps.workspace.resolve(p) })));
    const seen = new Set<string>(); // refused all before deleting any; each file once
    const removed: { path: string; sha256: string }[] = [];
    for (const { arg, path } of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      ctx.signal.throwIfAborted();
      const content = await fileContent(path, ctx.signal);
      if (content === null) continue;
      const sha256 = await deps.kept.keep(ctx.idempotencyKey, arg, content);
      await rm(path);
      removed.push({ path: arg, sha256: sha256! });
    }
    return { deleted: removed.length, removed };
  },
  compensation: {
    kind: 'compensable',
    compensate: ({ result }) => {
      const removed = (result as { removed?: unknown } | null)?.removed;
      if (!Array.isArray(removed)) {
        throw new TypeError('the recorded result lists no removed files (deleted before files.delete kept copies)');
      }
      if (removed.length === 0) return null;
      const files = (removed as { path: string; sha256: string }[]).map((r) => ({
        path: r.path,
        sha256: r.sha256,
        ifSha256: null,
      }));
      return { tool: 'files.restore', args: { files } };
    },
  },
});
