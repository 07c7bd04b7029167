import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolCallError } from '../errors.js';
import { unlessMissing } from '../stores/workspace.js';
import { Count, FilePath } from './fields.js';

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

const exists = async (path: string): Promise<boolean> => (await unlessMissing(() => stat(path))) !== null;

/**
 * files.write: writes a file of the workspace atomically (a temporary file renamed into place). verify() compares
 * the file's content with the args: the same content means the write happened. Its impact is one file.
 */
export const filesWrite = defineDemoTool({
  name: 'files.write',
  description: 'Write a file',
  destructive: true,
  riskTier: 'medium',
  argsSchema: z
    .object({ path: FilePath, content: z.string().max(10_000_000), overwrite: z.boolean().optional() })
    .strict(),
  outputSchema: z.object({ sizeBytes: Count }),
  resources: { paths: ['path'] },
  outputTrust: 'trusted',
  criticalFields: ['path'],
  estimateImpact: () => Promise.resolve({ ...noImpact, files: 1 }),
  run: async (args, deps, ctx) => {
    const path = await deps.workspace.resolve(args.path);
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
  verify: async (args, deps, ctx) => {
    const path = await deps.workspace.resolve(args.path);
    if (!(await exists(path))) return { status: 'not_applied' };
    const current = await readFile(path, { signal: ctx.signal });
    return sha256(current) === sha256(args.content)
      ? { status: 'applied', output: { sizeBytes: current.byteLength } }
      : { status: 'not_applied' };
  },
});
