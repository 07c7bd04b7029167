import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolCallError, Workspace, bindTool, offlineImpactDeps, type DemoToolDeps } from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { filesCopy } from './files-copy.js';

const signal = new AbortController().signal;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('files.copy', () => {
  it('is sized by its dry run as one file written', async () => {
    const args = { from: 'a.txt', to: 'b.txt' };
    await expect(filesCopy.estimateImpact(args, offlineImpactDeps, { signal })).resolves.toEqual({
      rows: 0,
      files: 1,
      recipients: 0,
      moneyUsd: 0,
    });
  });

  it('copies once, verifies the copy, and never overwrites another file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'files-copy-'));
    await writeFile(join(root, 'a.txt'), 'hello');
    await writeFile(join(root, 'other.txt'), 'other');
    const tool = bindTool(filesCopy, { workspace: new Workspace(root) } as DemoToolDeps);
    const ctx = { idempotencyKey: 't:a1', signal, logger };
    const args = { from: 'a.txt', to: 'copies/b.txt' };
    await expect(tool.verify!(args, ctx)).resolves.toEqual({ status: 'not_applied' });
    await expect(tool.run(args, ctx)).resolves.toEqual({ sizeBytes: 5 });
    await expect(tool.run(args, ctx)).resolves.toEqual({ sizeBytes: 5 });
    await expect(readFile(join(root, 'copies/b.txt'), 'utf8')).resolves.toBe('hello');
    await expect(tool.verify!(args, ctx)).resolves.toEqual({ status: 'applied', output: { sizeBytes: 5 } });
    await expect(tool.run({ from: 'a.txt', to: 'other.txt' }, ctx)).rejects.toBeInstanceOf(ToolCallError);
    await expect(readFile(join(root, 'other.txt'), 'utf8')).resolves.toBe('other');
  });
});
