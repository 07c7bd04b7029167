import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventTypes } from '@warden/contracts';
import { expectedSchemaFiles, syncFiles } from '../scripts/schema-files.js';

const root = resolve(import.meta.dirname, '../../../schemas');

describe('generated schemas in schemas/', () => {
  it('match the zod schemas (run `npm run schemas` after changing an event)', async () => {
    const { drift, total } = await syncFiles(root, expectedSchemaFiles(), { write: false });
    expect(drift).toEqual([]);
    expect(total).toBe(eventTypes.length + 3);
  });

  it('are draft-07 and carry the $schema the registry needs to infer the JSON type', async () => {
    for (const type of eventTypes) {
      const doc = JSON.parse(await readFile(join(root, 'events', `${type}.json`), 'utf8')) as Record<string, unknown>;
      expect(doc.$schema).toBe('http://json-schema.org/draft-07/schema#');
      expect(doc.title).toBe(`warden.${type}`);
    }
  });

  it('reports drift when a file differs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-schemas-'));
    try {
      const expected = expectedSchemaFiles();
      await syncFiles(dir, expected, { write: true });
      const changed = new Map(expected);
      changed.set('events/TaskSubmitted.json', '{}\n');
      const { drift } = await syncFiles(dir, changed, { write: false });
      expect(drift).toEqual(['events/TaskSubmitted.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
