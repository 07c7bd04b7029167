import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { defineRunnableTool } from '../runnable.js';
import { filesWrite } from '../demo-tools.js';
import { ToolCallError } from '../errors.js';
import type { Workspace } from '../stores/workspace.js';

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * files.write: writes a file of the workspace atomically (a temporary file renamed into place). verify() compares
 * the file's content with the args: the same content means the write happened.
 */
export function filesWriteTool(workspace: Workspace) {
  return defineRunnableTool({
    spec: filesWrite,
    riskTier: 'medium',
    estimateImpact: () => Promise.resolve({ rows: 0, files: 1, recipients: 0, moneyUsd: 0 }),
    run: async (args, ctx) => {
      const path = await workspace.resolve(args.path);
      if (args.overwrite !== true && (await exists(path))) {
        const current = await readFile(path, { signal: ctx.signal });
        if (sha256(current) === sha256(args.content)) return { sizeBytes: current.byteLength }; // written already
        throw new ToolCallError(`${args.path} exists and overwrite is not set`, { retryable: false });
      }
      await mkdir(dirname(path), { recursive: true });
      const temp = join(dirname(path), `.${basename(path)}.${sha256(ctx.idempotencyKey).slice(0, 12)}.tmp`);
      await writeFile(temp, args.content, { signal: ctx.signal });
      await rename(temp, path);
      return { sizeBytes: Buffer.byteLength(args.content) };
    },
    verify: async (args, ctx) => {
      const path = await workspace.resolve(args.path);
      if (!(await exists(path))) return { status: 'not_applied' };
      const current = await readFile(path, { signal: ctx.signal });
      return sha256(current) === sha256(args.content)
        ? { status: 'applied', output: { sizeBytes: current.byteLength } }
        : { status: 'not_applied' };
    },
  });
}
