import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { noImpact } from '@warden/contracts';
import { ToolCallError, defineDemoTool, unlessMissing } from '@warden/tools';

const Path = z.string().min(1).max(4_096);

/** The file's content, or null when there is no such file. */
const contentOf = (path: string): Promise<Buffer | null> => unlessMissing(() => readFile(path));

/**
 * files.copy: copies a file of the workspace to a new path, never over another file. Its impact is one file
 * written. Running it twice changes nothing more (the copy is there, with the same content), which is also how
 * verify() tells that it happened.
 */
export const filesCopy = defineDemoTool({
  name: 'files.copy',
  description: 'Copy a file to a new path',
  destructive: true,
  riskTier: 'medium',
  argsSchema: z.object({ from: Path, to: Path }).strict(),
  outputSchema: z.object({ sizeBytes: z.number().int().nonnegative() }),
  resources: { paths: ['from', 'to'] },
  criticalFields: ['from', 'to'],
  estimateImpact: () => Promise.resolve({ ...noImpact, files: 1 }),
  run: async (args, deps, ctx) => {
    const from = await deps.workspace.resolve(args.from);
    const to = await deps.workspace.resolve(args.to);
    const source = await readFile(from, { signal: ctx.signal });
    const existing = await contentOf(to);
    if (existing !== null && existing.equals(source)) return { sizeBytes: existing.byteLength }; // copied already
    if (existing !== null) throw new ToolCallError(`${args.to} exists`, { retryable: false });
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    return { sizeBytes: source.byteLength };
  },
  verify: async (args, deps) => {
    const source = await contentOf(await deps.workspace.resolve(args.from));
    const copy = await contentOf(await deps.workspace.resolve(args.to));
    return source !== null && copy !== null && copy.equals(source)
      ? { status: 'applied', output: { sizeBytes: copy.byteLength } }
      : { status: 'not_applied' };
  },
});
