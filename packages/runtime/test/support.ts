import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { WorkerRuntimeConfig } from '@warden/runtime';

const root = resolve(import.meta.dirname, '../../..');

/** A worker running as a child process. */
export interface ChildWorker {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a fixture worker as a process (tsx, sources resolved through the @warden/source condition). */
export async function startChildWorker(
  script: string,
  config: WorkerRuntimeConfig,
  readyTimeoutMs = 60_000,
): Promise<ChildWorker> {
  const child = spawn(process.execPath, ['--conditions=@warden/source', '--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, FIXTURE_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const deadline = Date.now() + readyTimeoutMs;
  while (!out.includes('READY')) {
    if (child.exitCode !== null) throw new Error(`worker exited before ready:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker not ready after ${readyTimeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, exited };
}
