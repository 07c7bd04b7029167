// <cache>/run/stack.json: the endpoints of a healthy stack, written by `up`, removed by `down`.
import fs from 'node:fs';

import type { ServerId } from './paths.js';
import { removeFile, writeFileAtomic } from './proc.js';

export interface StackEndpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly mongoUrl: string;
}

export interface StackState extends StackEndpoints {
  readonly startedAt: string;
  /** PIDs of the servers this stack started; servers given through the environment have none. */
  readonly pids: Partial<Record<ServerId, number>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseState(value: unknown): StackState | undefined {
  if (!isRecord(value)) return undefined;
  const { kafkaBrokers, schemaRegistryUrl, mongoUrl, startedAt, pids } = value;
  if (
    typeof kafkaBrokers !== 'string' ||
    typeof schemaRegistryUrl !== 'string' ||
    typeof mongoUrl !== 'string' ||
    typeof startedAt !== 'string'
  ) {
    return undefined;
  }
  const parsedPids: Partial<Record<ServerId, number>> = {};
  if (isRecord(pids)) {
    for (const id of ['kafka', 'registry', 'mongo'] as const) {
      const pid = pids[id];
      if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) parsedPids[id] = pid;
    }
  }
  return { kafkaBrokers, schemaRegistryUrl, mongoUrl, startedAt, pids: parsedPids };
}

/** The recorded state, or undefined if the file is missing or malformed. */
export function readState(file: string): StackState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseState(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function writeState(file: string, state: StackState): void {
  writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function removeState(file: string): void {
  removeFile(file);
}
