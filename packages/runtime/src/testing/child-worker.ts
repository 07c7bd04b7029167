import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { runUntilSignal, type Service } from '../signals.js';

/** The line a child worker prints once started (see runAsChildWorker). */
export const CHILD_READY_LINE = 'READY';

/** A worker running as a child process of a test. */
export interface ChildWorker {
  readonly child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  readonly output: () => string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Options of startChildWorker. */
export interface ChildWorkerOptions {
  /** How long it may take to print CHILD_READY_LINE (default 60 s); then it is killed and the start fails. */
  readonly readyTimeoutMs?: number;
  /** Its working directory (default this process's). */
  readonly cwd?: string;
}

/**
 * Starts a fixture script as a worker process (node with tsx, workspace packages resolved to their sources through
 * the @warden/source condition) and resolves once it prints CHILD_READY_LINE. `config` reaches the script as JSON
 * in its first argument (read it with childWorkerConfig()). It fails, with the child's output, if the child exits
 * or stays silent past readyTimeoutMs.
 */
export async function startChildWorker(
  script: string,
  config: unknown,
  options: ChildWorkerOptions = {},
): Promise<ChildWorker> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const child = spawn(
    process.execPath,
    ['--conditions=@warden/source', '--import', 'tsx', script, JSON.stringify(config)],
    {
      cwd: options.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker not ready after ${readyTimeoutMs} ms:\n${out}`));
    }, readyTimeoutMs);
    const read = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(CHILD_READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${signal ?? code}) before it was ready:\n${out}`));
    });
  });
  await ready;
  return { child, output: () => out, exited };
}

/** In a fixture script run by startChildWorker: the configuration the test passed. */
export function childWorkerConfig<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('no configuration: run this script through startChildWorker()');
  return JSON.parse(raw) as T;
}

/**
 * In a fixture script run by startChildWorker: wires signals (runUntilSignal), starts the worker and prints
 * CHILD_READY_LINE once it runs; a failed start exits 1.
 */
export function runAsChildWorker(worker: Service, logger: Logger): void {
  void runUntilSignal(worker, logger).then((started) => {
    if (started) process.stdout.write(`${CHILD_READY_LINE}\n`);
  });
}
