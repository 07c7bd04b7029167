import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { allJsonSchemas, canonicalVectors, chainVector, schemaFileText } from '@warden/contracts';
import { sampleChain } from '@warden/contracts/testing';

/** Every generated file under schemas/, by relative path, with its text. */
export function expectedSchemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, doc] of allJsonSchemas()) files.set(`events/${name}`, schemaFileText(doc));
  files.set('test-vectors/canonical.json', `${JSON.stringify(canonicalVectors(), null, 2)}\n`);
  files.set('test-vectors/chain.json', `${JSON.stringify(chainVector(sampleChain(5, 'task-vector')), null, 2)}\n`);
  return files;
}

/** Compares (and with write, rewrites) the generated files; stray .json files in events/ count as drift. */
export async function syncFiles(
  root: string,
  expected: Map<string, string>,
  options: { write: boolean },
): Promise<{ drift: string[]; total: number }> {
  const drift: string[] = [];
  for (const [rel, text] of expected) {
    const path = join(root, rel);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === text) continue;
    drift.push(rel);
    if (options.write) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    }
  }
  const events = await readdir(join(root, 'events')).catch(() => [] as string[]);
  drift.push(
    ...events.filter((f) => f.endsWith('.json') && !expected.has(`events/${f}`)).map((f) => `events/${f} (stray)`),
  );
  return { drift, total: expected.size };
}
