import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ToolRefusedError } from '../errors.js';

/**
 * A sandboxed file workspace: every path is relative to one root, and a path that leaves it (`..`, an absolute
 * path, a symbolic link pointing outside) is refused before anything is read or written.
 */
export class Workspace {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The absolute path of `path` inside the workspace; ToolRefusedError when it is outside. */
  async resolve(path: string): Promise<string> {
    if (path.includes('\0')) throw refused(path, 'contains a NUL byte');
    if (isAbsolute(path)) throw refused(path, 'is absolute; paths are relative to the workspace');
    const target = resolve(this.root, path);
    if (!inside(this.root, target) || target === this.root) throw refused(path, 'leaves the workspace');
    // Follow symbolic links of the deepest existing ancestor: a link may not lead out of the workspace.
    const realRoot = await realpath(this.root);
    let probe = target;
    for (;;) {
      try {
        const real = await realpath(probe);
        const rest = relative(probe, target);
        if (!inside(realRoot, resolve(real, rest))) throw refused(path, 'leads out of the workspace through a link');
        break;
      } catch (error) {
        if (error instanceof ToolRefusedError) throw error;
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const parent = dirname(probe);
        if (parent === probe) break;
        probe = parent;
      }
    }
    return target;
  }
}

function inside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

function refused(path: string, why: string): ToolRefusedError {
  return new ToolRefusedError(`path ${JSON.stringify(path.slice(0, 200))} ${why}`, { details: { path } });
}

/** The result of `op`, or null when it fails because the path it touches does not exist (ENOENT). */
export async function unlessMissing<T>(op: () => Promise<T>): Promise<T | null> {
  try {
    return await op();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
