import { rm, stat } from 'node:fs/promises';
import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { unlessMissing } from '../stores/workspace.js';
import { Count, FilePath } from './fields.js';

const isFile = async (path: string): Promise<boolean> => (await unlessMissing(() => stat(path)))?.isFile() ?? false;

/**
 * files.delete: deletes files of the workspace (never directories). Its impact is the number of distinct paths it
 * names, from the arguments: an upper bound (a missing path or a directory is skipped), and one the guard can tell
 * without the executor's workspace. It has no verify(): once the files are gone, nothing tells whether this effect
 * removed them, so a crash between dispatch and commit is escalated as outcome_unknown.
 */
export const filesDelete = defineDemoTool({
  name: 'files.delete',
  description: 'Delete files',
  destructive: true,
  riskTier: 'critical',
  argsSchema: z.object({ paths: z.array(FilePath).min(1).max(1_000) }).strict(),
  outputSchema: z.object({ deleted: Count }),
  resources: { paths: ['paths.*'] },
  outputTrust: 'trusted',
  criticalFields: ['paths.*'],
  estimateImpact: (args) => Promise.resolve({ ...noImpact, files: new Set(args.paths).size }),
  run: async (args, deps, ctx) => {
    const paths = await Promise.all(args.paths.map((p) => deps.workspace.resolve(p))); // refuse all before deleting any
    let deleted = 0;
    for (const path of new Set(paths)) {
      ctx.signal.throwIfAborted();
      if (!(await isFile(path))) continue;
      await rm(path);
      deleted++;
    }
    return { deleted };
  },
});
