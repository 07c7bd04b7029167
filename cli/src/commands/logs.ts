/** `warden logs NAME`: a worker's log files (pino JSON lines), through tail(1). */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CliConfig } from '../config.js';
import { CliError, CliErrorCodes, ExitCodes } from '../errors.js';

/** Prints (or follows) the logs of a worker's replicas, or of one replica (they stay after `warden down`). */
export async function logs(config: CliConfig, name: string, lines: number, follow: boolean): Promise<number> {
  // From the files, not fleet.json: a worker's log outlives it (after `down`, or a crash).
  let names: string[] = [];
  try {
    names = readdirSync(config.fleetDir);
  } catch {
    names = []; // no fleet ever started on this prefix
  }
  const files = names
    .filter((f) => new RegExp(`^${name.replace(/[^a-z0-9-]/g, '')}(-\\d+)?\\.log$`).test(f))
    .sort()
    .map((f) => join(config.fleetDir, f));
  if (files.length === 0) {
    throw new CliError(CliErrorCodes.notFound, `no log of "${name}" for topic prefix "${config.runtime.topicPrefix}"`, {
      hint: 'see the workers with `warden ps`; logs live in ' + config.fleetDir,
    });
  }
  const child = spawn('tail', ['-n', String(lines), ...(follow ? ['-F'] : []), ...files], { stdio: 'inherit' });
  const stop = (): void => void child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return follow || code === 0 ? ExitCodes.ok : ExitCodes.failed;
}
