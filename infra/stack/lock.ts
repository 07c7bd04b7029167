// A lock file so that two `up`/`down` runs (two terminals, parallel test setups) do not race.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { isAlive, readPid } from './proc.js';

const WAIT_LIMIT_MS = 30 * 60 * 1000;

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export async function withLock<T>(file: string, onWait: (holder: number) => void, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readPid(file);
    if (holder === undefined ? ageMs(file) > 5000 : !isAlive(holder)) {
      fs.rmSync(file, { force: true }); // left behind by a run that died
      continue;
    }
    if (holder === undefined) {
      await sleep(100); // being written right now
      continue;
    }
    if (!told) onWait(holder);
    told = true;
    if (Date.now() > deadline) throw new Error(`${file} is still held by pid ${holder}`);
    await sleep(250);
  }
  try {
    return await body();
  } finally {
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
  }
}
