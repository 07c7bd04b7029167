/**
 * CPU time the local stack's servers (FerretDB, Kafka) spent over an interval, read from /proc (Linux) for the pids
 * the stack recorded in its stack.json: on two shared cores, a store that scans its collections shows here before it
 * shows in a hop. The stack is shared: the figures include whatever other processes asked of it meanwhile.
 */
import { readFileSync } from 'node:fs';
import { cacheDirFrom, runDirFrom } from '../infra/stack/config.js';
import { stackPaths } from '../infra/stack/paths.js';
import { readState } from '../infra/stack/state.js';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) of a process so far, or undefined when it cannot be read. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Starts measuring; the returned function says how many CPU seconds each server used since, and over what wall time. */
export function stackCpu(): () => string {
  const pids = readState(stackPaths(cacheDirFrom(), runDirFrom()).stateFile)?.pids ?? {};
  const servers = (['mongo', 'kafka'] as const).flatMap((id) =>
    pids[id] === undefined ? [] : [[id, pids[id]] as const],
  );
  const before = new Map(servers.map(([id, pid]) => [id, cpuSeconds(pid)]));
  const started = performance.now();
  return () => {
    const wall = (performance.now() - started) / 1000;
    const parts = servers.map(([id, pid]) => {
      const a = before.get(id);
      const b = cpuSeconds(pid);
      const name = id === 'mongo' ? 'FerretDB' : 'Kafka';
      return a === undefined || b === undefined ? `${name} unknown` : `${name} ${(b - a).toFixed(1)} s`;
    });
    return `stack CPU over ${wall.toFixed(1)} s: ${parts.length === 0 ? 'no stack.json' : parts.join(', ')} (shared stack: includes other users)`;
  };
}
