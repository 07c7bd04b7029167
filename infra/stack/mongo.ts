// FerretDB v1.24.2 with its SQLite backend: a MongoDB wire-protocol server, built from the small Go
// main in ./ferretdb (embedding the ferretdb package) with the Go toolchain.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { MongoClient } from 'mongodb';

import type { StackConfig } from './config.js';
import { FERRETDB_VERSION } from './config.js';
import { runGo } from './install.js';
import type { StackPaths } from './paths.js';
import { workDir } from './paths.js';
import type { ServerDefinition } from './server.js';

const SOURCES = ['main.go', 'go.mod', 'go.sum'] as const;

/** Identifies the checked-in Go sources, so a change to them rebuilds the binary. */
export function ferretSourceHash(sourceDir: string): string {
  const hash = crypto.createHash('sha256');
  for (const file of SOURCES) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(sourceDir, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

export async function checkMongo(url: string, timeoutMs: number): Promise<void> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

export function mongoServer(config: StackConfig, paths: StackPaths): ServerDefinition {
  const dir = workDir(paths, 'mongo');
  const dataDir = path.join(dir, 'data');

  return {
    id: 'mongo',
    label: `ferretdb ${FERRETDB_VERSION} (sqlite)`,
    external: config.mongo.external,
    endpoint: config.mongo.external ?? `mongodb://127.0.0.1:${config.mongo.port}/`,
    ports: [config.mongo.port],
    marker: dataDir,

    isInstalled() {
      try {
        return (
          fs.existsSync(paths.ferretBin) &&
          fs.readFileSync(paths.ferretStamp, 'utf8').trim() === ferretSourceHash(paths.ferretSource)
        );
      } catch {
        return false;
      }
    },

    async install(progress, signal) {
      progress(`building ferretdb ${FERRETDB_VERSION} with go (first run or changed sources only)...`);
      const hash = ferretSourceHash(paths.ferretSource);
      fs.mkdirSync(paths.ferretHome, { recursive: true });
      const tmp = `${paths.ferretBin}.${process.pid}.tmp`;
      try {
        // -mod=readonly: go.sum is checked in and the clone is never written to.
        await runGo(
          config.goBin,
          ['build', '-mod=readonly', '-buildvcs=false', '-o', tmp, '.'],
          paths.ferretSource,
          signal,
        );
        fs.renameSync(tmp, paths.ferretBin);
        fs.writeFileSync(paths.ferretStamp, `${hash}\n`);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    },

    prepare(fresh) {
      if (fresh) fs.rmSync(dataDir, { recursive: true, force: true });
      fs.mkdirSync(dataDir, { recursive: true });
      return Promise.resolve();
    },

    command: () => ({
      command: paths.ferretBin,
      args: [
        '--listen',
        `127.0.0.1:${config.mongo.port}`,
        '--sqlite-dir',
        dataDir,
        '--sqlite-synchronous',
        config.mongoSqliteSynchronous,
      ],
      cwd: dir,
    }),

    checkHealth: checkMongo,
  };
}
