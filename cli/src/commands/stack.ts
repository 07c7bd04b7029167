/** `warden stack up|down|status`: the local stack's own script (infra/stack/stack.ts), run as a child process. */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../config.js';

/** Runs the stack script with these arguments, output on this terminal; returns its exit code. */
export function runStack(args: readonly string[]): number {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawnSync(process.execPath, ['--import', tsx, join(REPO_ROOT, 'infra', 'stack', 'stack.ts'), ...args], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  return child.status ?? 1;
}
