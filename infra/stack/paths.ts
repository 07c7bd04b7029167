// Where the stack keeps downloads, builds and runtime state. Nothing is written inside the clone.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { APICURIO_VERSION, FERRETDB_VERSION, KAFKA_VERSION } from './config.js';

export type ServerId = 'kafka' | 'registry' | 'mongo';

export const SERVER_IDS: readonly ServerId[] = ['kafka', 'registry', 'mongo'];

export interface StackPaths {
  readonly cacheDir: string;
  /** Scratch space for downloads and builds before they are moved into place. */
  readonly buildDir: string;
  readonly runDir: string;
  readonly stateFile: string;
  readonly lockFile: string;
  readonly kafkaHome: string;
  readonly kafkaLib: string;
  readonly apicurioHome: string;
  readonly apicurioJar: string;
  readonly ferretHome: string;
  readonly ferretBin: string;
  /** Holds the hash of the Go sources the binary was built from. */
  readonly ferretStamp: string;
  /** The checked-in Go module embedding FerretDB (read only). */
  readonly ferretSource: string;
}

export function stackPaths(cacheDir: string, runDir = path.join(cacheDir, 'run')): StackPaths {
  const kafkaHome = path.join(cacheDir, `kafka-${KAFKA_VERSION}`);
  const apicurioHome = path.join(cacheDir, `apicurio-${APICURIO_VERSION}`);
  const ferretHome = path.join(cacheDir, `ferretdb-${FERRETDB_VERSION}`);
  return {
    cacheDir,
    buildDir: path.join(cacheDir, 'build'),
    runDir,
    stateFile: path.join(runDir, 'stack.json'),
    lockFile: path.join(runDir, 'stack.lock'),
    kafkaHome,
    kafkaLib: path.join(kafkaHome, 'lib'),
    apicurioHome,
    apicurioJar: path.join(apicurioHome, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`),
    ferretHome,
    ferretBin: path.join(ferretHome, 'ferretdb'),
    ferretStamp: path.join(ferretHome, 'ferretdb.sha256'),
    ferretSource: fileURLToPath(new URL('./ferretdb/', import.meta.url)),
  };
}

export const pidFile = (p: StackPaths, id: ServerId): string => path.join(p.runDir, `${id}.pid`);
export const logFile = (p: StackPaths, id: ServerId): string => path.join(p.runDir, `${id}.log`);
/** Per-server working directory: generated config and data. */
export const workDir = (p: StackPaths, id: ServerId): string => path.join(p.runDir, id);
