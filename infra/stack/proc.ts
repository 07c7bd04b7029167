// Process, file and network helpers for the local stack (POSIX: Linux and macOS).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The whole environment of the child; inherited when absent. */
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

export function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

export function lastLines(text: string, count: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

export function tailFile(file: string, count: number): string {
  try {
    const size = fs.statSync(file).size;
    const length = Math.min(size, 256 * 1024);
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      return lastLines(buffer.toString('utf8'), count);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion, capturing its output; throws CommandError (with the output) on failure. */
export function runCommand(spec: CommandSpec, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new AbortedError('aborted'));
      return;
    }
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      ...(spec.env !== undefined && { env: spec.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const describe = `${spec.command} ${spec.args.join(' ')}`;
    child.on('error', (error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(new CommandError(`cannot run ${spec.command}: ${error.message}`, ''));
    });
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolve(output);
      else if (signal?.aborted === true) reject(new AbortedError('aborted'));
      else {
        const how =
          killedBy !== null ? `was killed by ${killedBy} (timeout ${timeoutMs / 1000}s?)` : `exited with ${code}`;
        reject(new CommandError(`\`${describe}\` ${how}`, output));
      }
    });
  });
}

export interface DetachedChild {
  readonly pid: number;
  /** Set once the process has exited while this command still runs. */
  exit: string | undefined;
}

/**
 * Starts a long-running server in its own process group, its stdout and stderr appended to logFile,
 * and lets this process exit without waiting for it. The previous log is kept as <log>.1.
 */
export async function spawnDetached(spec: CommandSpec, log: string): Promise<DetachedChild> {
  if (fs.existsSync(log)) fs.renameSync(log, `${log}.1`);
  const fd = fs.openSync(log, 'a');
  try {
    fs.writeSync(fd, `# ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      ...(spec.env !== undefined && { env: spec.env }),
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`cannot run ${spec.command}: ${error.message}`)));
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot run ${spec.command}: no pid`);
    const handle: DetachedChild = { pid, exit: undefined };
    child.on('exit', (code, signal) => {
      handle.exit = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    });
    child.unref();
    return handle;
  } finally {
    fs.closeSync(fd);
  }
}

/** True when pid names a live (not zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** Whether a live process has arg, exactly, among its command-line arguments (guards against PID reuse). */
export function processHasArg(pid: number, arg: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(arg);
  } catch {
    // No /proc (macOS): ps joins the arguments with spaces.
    try {
      const line = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
      return ` ${line.trim()} `.includes(` ${arg} `);
    } catch {
      return false;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed';

/** SIGTERM to the process group led by pid, SIGKILL after timeoutMs; throws if it survives both. */
export async function stopProcessGroup(pid: number, timeoutMs: number): Promise<StopOutcome> {
  if (!isAlive(pid)) return 'not-running';
  signalGroup(pid, 'SIGTERM');
  let outcome: StopOutcome = 'stopped';
  if (!(await waitForExit(pid, timeoutMs))) {
    outcome = 'killed';
    signalGroup(pid, 'SIGKILL');
    if (!(await waitForExit(pid, 5000))) throw new Error(`pid ${pid} survived SIGKILL`);
  }
  // Anything the leader left behind in its group goes too.
  if (groupExists(pid)) signalGroup(pid, 'SIGKILL');
  return outcome;
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

export function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
}

/** Resolves true if a TCP connection to host:port succeeds within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves undefined if host:port can be bound now, else the bind error code (EADDRINUSE, EACCES...). */
export function bindProbe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** Best effort: which process listens on a TCP port (from `ss` or `lsof`), for error messages. */
export function describeListener(port: number): string | undefined {
  const attempts: [string, string[]][] = [
    ['ss', ['-Htlnp', `sport = :${port}`]],
    ['lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN']],
  ];
  for (const [command, args] of attempts) {
    try {
      const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (out !== '') return out.replace(/\s+/g, ' ');
    } catch {
      // tool missing or no permission
    }
  }
  return undefined;
}

/**
 * Polls check() until it resolves. Throws when the deadline passes (with the last check's error),
 * when died() reports that the server process has exited, or when signal aborts.
 */
export async function waitFor(
  check: () => Promise<void>,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs?: number;
    readonly signal?: AbortSignal;
    readonly died?: () => string | undefined;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no attempt';
  for (;;) {
    if (options.signal?.aborted === true) throw new AbortedError('aborted');
    if (options.died?.() !== undefined) {
      await sleep(200); // let the exit status arrive
      throw new Error(`the process ${options.died() ?? 'exited'} before it became healthy`);
    }
    try {
      await check();
      return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`not healthy after ${options.timeoutMs / 1000}s (last check: ${last})`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}
