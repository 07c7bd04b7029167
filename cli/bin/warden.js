#!/usr/bin/env node
// The `warden` command on a fresh clone, no build needed: runs the CLI's TypeScript source through tsx with the
// "@warden/source" export condition (workspace packages resolve to their sources), in a child Node that shares this
// terminal. Signals reach the child (a terminal's Ctrl-C reaches both; a SIGTERM sent to this process is passed
// on), and this process exits with the child's exit code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const child = spawn(
  process.execPath,
  ['--conditions=@warden/source', '--import', tsx, resolve(here, '../src/main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT') child.kill(signal);
  });
}
child.on('error', (error) => {
  process.stderr.write(`warden: cannot start Node: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
});
