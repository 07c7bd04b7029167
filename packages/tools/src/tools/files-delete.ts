import { rm, stat } from 'node:fs/promises';
import { defineRunnableTool } from '../runnable.js';
import { filesDelete } from '../demo-tools.js';
import type { Workspace } from '../stores/workspace.js';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * files.delete: deletes files of the workspace (never directories). It has no verify(): once the files are gone,
 * nothing tells whether this effect removed them, so a crash between dispatch and commit is escalated as
 * outcome_unknown.
 */
export function filesDeleteTool(workspace: Workspace) {
  return defineRunnableTool({
    spec: filesDelete,
    riskTier: 'high',
    estimateImpact: async (args) => {
      let files = 0;
      for (const p of args.paths) if (await isFile(await workspace.resolve(p))) files++;
      return { rows: 0, files, recipients: 0, moneyUsd: 0 };
    },
    run: async (args, ctx) => {
      const paths = await Promise.all(args.paths.map((p) => workspace.resolve(p))); // refuse all before deleting any
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
}
