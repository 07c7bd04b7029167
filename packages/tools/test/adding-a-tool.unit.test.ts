import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Workspace,
  bindTool,
  createToolDefinitionRegistry,
  demoTools,
  estimateToolImpact,
  offlineImpactDeps,
  toolParametersJsonSchema,
  type DemoToolDeps,
} from '@warden/tools';
import { describe, expect, it } from 'vitest';
import { filesCopy } from './example/files-copy.js';

const repo = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const doc = repo('docs/adding-a-tool.md');

/** The code blocks of the page, each with the file its `<!-- checked: path -->` marker names. */
function checkedBlocks(): { path: string; code: string }[] {
  const out: { path: string; code: string }[] = [];
  for (const m of doc.matchAll(/<!-- checked: (\S+) -->\s*```ts\n([\s\S]*?)```/g)) {
    out.push({ path: m[1]!, code: m[2]! });
  }
  return out;
}

const withoutImports = (code: string): string[] =>
  code
    .trimEnd()
    .split('\n')
    .filter((line) => !line.startsWith('import '));

describe('docs/adding-a-tool.md', () => {
  it('shows the example tool and its test as they are, apart from their imports', () => {
    const blocks = checkedBlocks().filter((b) => b.path.includes('/example/'));
    expect(blocks.map((b) => b.path)).toEqual([
      'packages/tools/test/example/files-copy.ts',
      'packages/tools/test/example/files-copy.unit.test.ts',
    ]);
    for (const block of blocks)
      expect(withoutImports(block.code), block.path).toEqual(withoutImports(repo(block.path)));
  });

  it('shows the registry list of demo-tools.ts with one entry added', () => {
    const [block] = checkedBlocks().filter((b) => b.path === 'packages/tools/src/demo-tools.ts');
    const shown = block!.code.trimEnd().split('\n');
    expect(shown.filter((line) => line.trim() === 'filesCopy,')).toHaveLength(1);
    const source = repo('packages/tools/src/demo-tools.ts');
    expect(source).toContain(shown.filter((line) => line.trim() !== 'filesCopy,').join('\n'));
    expect(shown.filter((line) => /^\s+[a-z]\w*,$/.test(line))).toHaveLength(demoTools.size + 1);
  });

  it('is all a tool needs: the registry with it added serves the planner, the guard and the executor', async () => {
    const tools = createToolDefinitionRegistry([...demoTools.values(), filesCopy]);
    const tool = tools.get('files.copy')!;
    // the planner: the model is offered the tool with its argument JSON Schema
    expect(toolParametersJsonSchema(tool)).toMatchObject({ type: 'object', required: ['from', 'to'] });
    // the guard: its own dry run sizes a call, its definition gives the tier; args its schema refuses get no estimate
    const signal = new AbortController().signal;
    await expect(
      estimateToolImpact(tools, 'files.copy', { from: 'a', to: 'b' }, offlineImpactDeps, { signal }),
    ).resolves.toMatchObject({ files: 1 });
    await expect(estimateToolImpact(tools, 'files.copy', { from: 'a' }, offlineImpactDeps, { signal })).resolves.toBe(
      null,
    );
    expect(tool.riskTier).toBe('medium');
    // the executor: bound to its stores, it runs
    const root = await mkdtemp(join(tmpdir(), 'adding-a-tool-'));
    await writeFile(join(root, 'a'), 'x');
    const runnable = bindTool(tool, { workspace: new Workspace(root) } as DemoToolDeps);
    const ctx = { idempotencyKey: 't:1', signal, logger: { debug() {}, info() {}, warn() {}, error() {} } };
    await expect(runnable.run({ from: 'a', to: 'b' }, ctx)).resolves.toEqual({ sizeBytes: 1 });
  });
});
