import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Sha256Hex, noImpact } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolCallError } from '../errors.js';
import { unlessMissing } from '../stores/workspace.js';
import { Count, FilePath } from './fields.js';

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/**
 * files.write: writes a file of the workspace atomically (a temporary file renamed into place). verify() compares
 * the file's content with the args: the same content means the write happened. Its impact is one file. Before it
 * writes, it keeps what the file held (a copy, or "absent") under its effect key and reports that content's sha256
 * as `previousSha256` (null: the file was new): its compensation, files.restore, puts that back (ADR 0026).
 */
export const filesWrite = defineDemoTool({
  name: 'files.write',
  description: 'Write a file',
  destructive: true,
  riskTier: 'medium',
  argsSchema: z
    .object({ path: FilePath, content: z.string().max(10_000_000), overwrite: z.boolean().optional() })
    .strict(),
  outputSchema: z.object({ sizeBytes: Count, previousSha256: Sha256Hex.nullable() }),
  resources: { paths: ['path'] },
  outputTrust: 'trusted',
  criticalFields: ['path'],
  estimateImpact: () => Promise.resolve({ ...noImpact, files: 1 }),
  run: async (args, deps, ctx) => {
    const path = await deps.workspace.resolve(args.path);
    const before = await unlessMissing(() => readFile(path, { signal: ctx.signal }));
    const recorded = await deps.kept.recordOf(ctx.idempotencyKey, args.path);
    if (args.overwrite !== true && before !== null && recorded === undefined) {
      if (sha256(before) !== sha256(args.content)) {
        throw new ToolCallError(`${args.path} exists and overwrite is not set`, { retryable: false });
      }
    }
    // what the file held before this effect (the first record wins: a re-run keeps the original)
    const previousSha256 = await deps.kept.keep(ctx.idempotencyKey, args.path, before);
    if (before !== null && sha256(before) === sha256(args.content)) {
      return { sizeBytes: before.byteLength, previousSha256 }; // written already
    }
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.${basename(path)}.${sha256(ctx.idempotencyKey).slice(0, 12)}.tmp`);
    await writeFile(temp, args.content, { signal: ctx.signal });
    await rename(temp, path);
    return { sizeBytes: Buffer.byteLength(args.content), previousSha256 };
  },
  verify: async (args, deps, ctx) => {
    const path = await deps.workspace.resolve(args.path);
    const current = await unlessMissing(() => readFile(path, { signal: ctx.signal }));
    if (current === null) return { status: 'not_applied' };
    const recorded = await deps.kept.recordOf(ctx.idempotencyKey, args.path);
    return sha256(current) === sha256(args.content) && recorded !== undefined
      ? { status: 'applied', output: { sizeBytes: current.byteLength, previousSha256: recorded.previousSha256 } }
      : { status: 'not_applied' };
  },
  compensation: {
    kind: 'compensable',
    compensate: ({ args, result }) => {
      const previous = (result as { previousSha256?: unknown } | null)?.previousSha256;
      if (previous !== null && typeof previous !== 'string') {
        throw new TypeError('the recorded result has no previousSha256 (written before files.write kept copies)');
      }
      const written = sha256(args.content);
      if (previous === written) return null; // it wrote what was there: nothing changed
      return { tool: 'files.restore', args: { files: [{ path: args.path, sha256: previous, ifSha256: written }] } };
    },
  },
});
