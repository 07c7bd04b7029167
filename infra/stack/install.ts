// Downloads and builds into the cache: staged in <cache>/build, then moved into place in one rename,
// so an interrupted first run never leaves a half-filled directory that looks installed.
import fs from 'node:fs';
import path from 'node:path';

import { childEnv } from './config.js';
import { runCommand } from './proc.js';

const INSTALL_TIMEOUT_MS = 20 * 60 * 1000;

export async function installInto<T>(
  buildDir: string,
  finalDir: string,
  build: (stagingDir: string) => Promise<T>,
): Promise<T> {
  fs.mkdirSync(buildDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(buildDir, `${path.basename(finalDir)}-`));
  try {
    const result = await build(staging);
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.renameSync(path.join(staging, 'out'), finalDir);
    return result;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    try {
      fs.rmdirSync(buildDir); // only if empty
    } catch {
      // another install is staging there
    }
  }
}

let mavenQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs Maven in cwd, one invocation at a time: concurrent builds sharing ~/.m2 can corrupt it.
 * cwd matters: a goal run without a pom (dependency:unpack) writes a literal "${project.basedir}"
 * directory there.
 */
export function runMaven(mvnBin: string, args: readonly string[], cwd: string, signal: AbortSignal): Promise<string> {
  const run = mavenQueue.then(() =>
    runCommand({ command: mvnBin, args: ['-B', '-q', '-ntp', ...args], cwd }, INSTALL_TIMEOUT_MS, signal),
  );
  mavenQueue = run.catch(() => undefined);
  return run;
}

export function runGo(goBin: string, args: readonly string[], cwd: string, signal: AbortSignal): Promise<string> {
  // GOWORK=off: an enclosing go.work must not change what gets built.
  return runCommand({ command: goBin, args, cwd, env: childEnv({ GOWORK: 'off' }) }, INSTALL_TIMEOUT_MS, signal);
}
