import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Sha256Hex, noImpact, sha256Hex } from '@warden/contracts';
import { z } from 'zod';
import { defineDemoTool } from '../demo-deps.js';
import { ToolCallError } from '../errors.js';
import { unlessMissing } from '../stores/workspace.js';
import { Count, FilePath } from './fields.js';
import { compensationOnly } from './compensation-fields.js';

/** One file to put back: the content it should hold (a kept copy), or null for "absent". */
const Target = z
  .object({
    path: FilePath,
    /** The sha256 of the kept content to put back; null: the file should not exist. */
    sha256: Sha256Hex.nullable(),
    /** What the file must hold now for the restore to go ahead (the content the effect left); null: absent. */
    ifSha256: Sha256Hex.nullable(),
  })
  .strict();

const hashOf = (content: Buffer | null): string | null => (content === null ? null : sha256Hex(content));

/**
 * files.restore: the compensation of files.write and files.delete (ADR 0026). Makes each file hold the kept copy
 * with `sha256` again, or removes it when `sha256` is null (a file the effect created). A file that holds neither
 * what the effect left (`ifSha256`) nor the target was changed since: the whole call is refused before anything
 * is touched, so a rollback never overwrites later work. A file already at its target is left alone, so running it
 * twice changes nothing more, and verify() finds every file at its target. Impact: one file per entry.
 */
export const filesRestore = defineDemoTool({
  name: 'files.restore',
  description: 'Put files back as they were before a files.write or files.delete effect (a rollback step)',
  destructive: true,
  riskTier: 'medium',
  argsSchema: z.object({ files: z.array(Target).min(1).max(1_000) }).strict(),
  outputSchema: z.object({ restored: Count }),
  resources: { paths: ['files.*.path'] },
  outputTrust: 'trusted',
  criticalFields: ['files.*.path', 'files.*.sha256'],
  estimateImpact: (args) => Promise.resolve({ ...noImpact, files: new Set(args.files.map((f) => f.path)).size }),
  run: async (args, deps, ctx) => {
    const plan: { path: string; target: z.infer<typeof Target>; content: Buffer | null }[] = [];
    for (const target of args.files) {
      const path = await deps.workspace.resolve(target.path);
      const current = await unlessMissing(() => readFile(path, { signal: ctx.signal }));
      const now = hashOf(current);
      if (now === target.sha256) continue; // there already
      if (now !== target.ifSha256) {
        throw new ToolCallError(`${target.path} changed since the effect: not restored over later work`, {
          retryable: false,
          details: { path: target.path, sha256: now },
        });
      }
      let content: Buffer | null = null;
      if (target.sha256 !== null) {
        const kept = await deps.kept.content(target.sha256);
        if (kept === undefined) {
          throw new ToolCallError(`no kept copy ${target.sha256} of ${target.path}`, { retryable: false });
        }
        content = Buffer.from(kept);
      }
      plan.push({ path, target, content });
    }
    for (const { path, content } of plan) {
      ctx.signal.throwIfAborted();
      if (content === null) {
        await rm(path, { force: true });
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      const temp = join(dirname(path), `.${basename(path)}.${sha256Hex(ctx.idempotencyKey).slice(0, 12)}.tmp`);
      await writeFile(temp, content, { signal: ctx.signal });
      await rename(temp, path);
    }
    return { restored: args.files.length };
  },
  verify: async (args, deps, ctx) => {
    for (const target of args.files) {
      const path = await deps.workspace.resolve(target.path);
      const current = await unlessMissing(() => readFile(path, { signal: ctx.signal }));
      if (hashOf(current) !== target.sha256) return { status: 'not_applied' };
    }
    return { status: 'applied', output: { restored: args.files.length } };
  },
  compensation: compensationOnly,
});
