/**
 * Writes the JSON Schemas of every event (and the envelope) into schemas/events, generated from the zod schemas,
 * and the canonical-form and hash-chain test vectors into schemas/test-vectors.
 * `--check` writes nothing and exits 1 when a file differs (drift).
 */
import { resolve } from 'node:path';
import { expectedSchemaFiles, syncFiles } from './schema-files.js';

const root = resolve(import.meta.dirname, '../../../schemas');
const check = process.argv.includes('--check');
const { drift, total } = await syncFiles(root, expectedSchemaFiles(), { write: !check });
if (check && drift.length > 0) {
  process.stderr.write(`schemas/ is out of date: ${drift.join(', ')}. Run: npm run schemas\n`);
  process.exit(1);
}
process.stdout.write(`schemas/: ${total} files, ${check ? 'up to date' : `${drift.length} written`}\n`);
