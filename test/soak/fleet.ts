/**
 * The workers as real processes for the soak: each `node --conditions=@warden/source --import tsx
 * services/<name>/src/main.ts` in its own process group, its log in the run directory, ready once it answers its
 * readiness URL. A worker can be SIGKILLed and started again with the same environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../cli/src/fleet.js';

export { freePort };

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How often readiness is polled while a worker starts. */
const READY_POLL_MS = 250;

/** The workers the soak runs. */
export const SoakServices = ['scripted-model', 'guard', 'executor', 'planner', 'auditor'] as const;
export type SoakService = (typeof SoakServices)[number];

/** One worker process: how to start it and where it is. */
export class WorkerProcess {
  private child: ChildProcess | undefined;
  private exited = true;
  /** How many times the process was started. */
  starts = 0;

  constructor(
    readonly service: SoakService,
    private readonly env: NodeJS.ProcessEnv,
    readonly readyUrl: string,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.exited ? undefined : this.child?.pid;
  }

  /** Starts the process and waits until it answers its readiness URL. */
  async start(timeoutMs: number): Promise<void> {
    const fd = openSync(this.logFile, 'a');
    try {
      const child = spawn(
        process.execPath,
        ['--conditions=@warden/source', '--import', 'tsx', join('services', this.service, 'src', 'main.ts')],
        { cwd: REPO_ROOT, env: this.env, detached: true, stdio: ['ignore', fd, fd] },
      );
      this.child = child;
      this.exited = false;
      this.starts++;
      child.once('exit', () => {
        if (this.child === child) this.exited = true;
      });
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`${this.service} exited while starting; its log ends:\n${this.tail(15)}`);
      if (await answers(this.readyUrl)) return;
      if (Date.now() > deadline) throw new Error(`${this.service} not ready within ${timeoutMs} ms:\n${this.tail(15)}`);
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }

  /** Sends a signal to the process group and waits for the process to exit. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const child = this.child;
    if (child === undefined || this.exited || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  /** The last lines of its log. */
  tail(lines: number): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false; // not listening yet: the caller's deadline decides
  }
}
